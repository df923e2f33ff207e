//! Ordering between the CPU and a device, named after the kernel's barriers.
//!
//! The atomic accessors of [`crate::DmaView`] (`load_u8_acquire`,
//! `store_u8_release`) carry the ordering a handoff of a DMA entry needs; these
//! free functions are for the places where the ordering is not attached to one
//! access: before a doorbell (an MMIO write) and between an ownership check done
//! with a plain read and the payload reads after it.
//!
//! x86_64 (the tested target): DMA memory is cache-coherent and the CPU keeps
//! stores in order and loads in order, so `dma_rmb`/`dma_wmb` only have to stop
//! the compiler (the kernel's `barrier()`), and `wmb` is `sfence` as in the kernel.
//! aarch64: the kernel's `dmb oshld` / `dmb oshst` / `dsb st`; compiled, not tested here.

use std::sync::atomic::{compiler_fence, Ordering};

/// Orders earlier reads of DMA memory before later ones (`dma_rmb()`): use it
/// after seeing the owner bit with a plain read, before reading the payload.
#[inline]
pub fn dma_rmb() {
    #[cfg(target_arch = "aarch64")]
    // SAFETY: a barrier instruction; no memory or register effects beyond ordering.
    unsafe {
        std::arch::asm!("dmb oshld", options(nostack, preserves_flags))
    };
    #[cfg(not(target_arch = "aarch64"))]
    std::sync::atomic::fence(Ordering::Acquire);
    compiler_fence(Ordering::SeqCst);
}

/// Orders earlier writes to DMA memory before later writes to DMA memory
/// (`dma_wmb()`): use it before handing an entry to the device with a plain write.
#[inline]
pub fn dma_wmb() {
    #[cfg(target_arch = "aarch64")]
    // SAFETY: a barrier instruction; no memory or register effects beyond ordering.
    unsafe {
        std::arch::asm!("dmb oshst", options(nostack, preserves_flags))
    };
    #[cfg(not(target_arch = "aarch64"))]
    std::sync::atomic::fence(Ordering::Release);
    compiler_fence(Ordering::SeqCst);
}

/// Orders earlier writes to DMA memory before a later MMIO write (`wmb()`): use it
/// before ringing a doorbell, so the device never sees the doorbell before the entry.
#[inline]
pub fn wmb() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `sfence` only orders stores; SSE is part of the x86_64 baseline.
    unsafe {
        std::arch::asm!("sfence", options(nostack, preserves_flags))
    };
    #[cfg(target_arch = "aarch64")]
    // SAFETY: a barrier instruction; no memory or register effects beyond ordering.
    unsafe {
        std::arch::asm!("dsb st", options(nostack, preserves_flags))
    };
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    std::sync::atomic::fence(Ordering::SeqCst);
    compiler_fence(Ordering::SeqCst);
}
