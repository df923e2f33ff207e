//! cxu-dma: DMA memory for the driver (issue 2 item 5; not built yet).
