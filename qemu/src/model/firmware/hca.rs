//! HCA life cycle and identity: ENABLE_HCA, DISABLE_HCA, QUERY_ISSI, SET_ISSI,
//! INIT_HCA, TEARDOWN_HCA, SET_DRIVER_VERSION, QUERY_ADAPTER.
#![forbid(unsafe_code)]

use cxu_hal::ifc::commands::hca;

use super::{syndrome, Cmd, CmdError, CmdResult, Env, Firmware, HcaState};

/// TEARDOWN_HCA profiles: graceful, force, prepare fast teardown.
const TEARDOWN_GRACEFUL: u64 = 0;
const TEARDOWN_FORCE: u64 = 1;
const TEARDOWN_PREPARE_FAST: u64 = 2;

impl Firmware {
    fn check_function_id(cmd: &Cmd<'_>) -> CmdResult {
        if cmd.get(hca::HCA_FUNCTION_ID) != 0 || cmd.get(hca::HCA_EMBEDDED_CPU_FUNCTION) != 0 {
            return Err(CmdError::bad_param(syndrome::BAD_FUNCTION_ID));
        }
        Ok(())
    }

    pub(super) fn enable_hca(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        Self::check_function_id(cmd)?;
        self.state = HcaState::Enabled;
        cmd.out_len(16);
        Ok(())
    }

    pub(super) fn disable_hca(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        Self::check_function_id(cmd)?;
        let left = self.pages.held();
        if left != 0 {
            // The driver should have reclaimed them; firmware drops its claim.
            tracing::warn!(
                pages = left,
                "DISABLE_HCA with pages still held; firmware forgets them"
            );
        }
        *self = Firmware {
            state: HcaState::Disabled,
            ..Firmware::new_like(self)
        };
        cmd.out_len(16);
        Ok(())
    }

    pub(super) fn query_issi(&mut self, env: &Env<'_>, cmd: &mut Cmd<'_>) -> CmdResult {
        let issi = self.issi;
        let out = cmd.out_len(hca::QUERY_ISSI_OUT_SIZE);
        let _ = hca::QUERY_ISSI_CURRENT.set(out, u64::from(issi));
        let _ = hca::QUERY_ISSI_SUPPORTED_DW0.set(out, u64::from(env.profile.supported_issi));
        Ok(())
    }

    pub(super) fn set_issi(&mut self, env: &Env<'_>, cmd: &mut Cmd<'_>) -> CmdResult {
        let want = cmd.get(hca::SET_ISSI_CURRENT);
        if want >= 32 || env.profile.supported_issi & (1 << want) == 0 {
            return Err(CmdError::bad_param(syndrome::ISSI_UNSUPPORTED));
        }
        self.issi = want as u16;
        cmd.out_len(16);
        Ok(())
    }

    pub(super) fn init_hca(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        if !self.pages.init_satisfied() {
            return Err(CmdError::bad_state(syndrome::PAGES_MISSING));
        }
        self.state = HcaState::Initialized;
        self.pages.set_initialized(true);
        cmd.out_len(16);
        Ok(())
    }

    pub(super) fn teardown_hca(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let profile = cmd.get(hca::TEARDOWN_PROFILE);
        if !matches!(
            profile,
            TEARDOWN_GRACEFUL | TEARDOWN_FORCE | TEARDOWN_PREPARE_FAST
        ) {
            return Err(CmdError::bad_param(syndrome::BAD_TEARDOWN_PROFILE));
        }
        // Resources die with the HCA; the pages stay until the driver takes
        // them (or, after the fast profile, until nic_interface DISABLED).
        self.eqs.clear();
        self.queues.clear();
        self.uars.clear();
        self.umems.clear();
        self.fast_teardown_prepared = profile == TEARDOWN_PREPARE_FAST;
        self.eth = self.eth.reset_clone();
        self.state = HcaState::Enabled;
        self.pages.set_initialized(false);
        let out = cmd.out_len(16);
        // state = 0: success (1 would be FAIL).
        let _ = hca::TEARDOWN_STATE.set(out, 0);
        Ok(())
    }

    /// The driver wrote `nic_interface` DISABLED. After TEARDOWN_HCA with the
    /// fast profile that is the fast teardown's second half (the kernel's
    /// `mlx5_cmd_fast_teardown_hca`, rdma-core's `mlx5_vfio_teardown_hca_fast`):
    /// the function stops, firmware lets go of every page without giving it
    /// back by MANAGE_PAGES (the driver frees them itself), and the HCA is
    /// disabled until ENABLE_HCA. Any other time the write only sets the mode
    /// the register reads back. Returns whether the function stopped.
    pub fn nic_interface_disabled(&mut self) -> bool {
        if !self.fast_teardown_prepared {
            return false;
        }
        tracing::info!(
            pages = self.pages.held(),
            "fast teardown: nic_interface DISABLED, firmware releases its pages"
        );
        *self = Firmware::new_like(self);
        true
    }

    pub(super) fn set_driver_version(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let at = hca::DRIVER_VERSION_OFFSET;
        let raw = &cmd.input[at..at + hca::DRIVER_VERSION_LEN];
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        self.driver_version = Some(String::from_utf8_lossy(&raw[..end]).into_owned());
        cmd.out_len(16);
        Ok(())
    }

    pub(super) fn query_adapter(&mut self, env: &Env<'_>, cmd: &mut Cmd<'_>) -> CmdResult {
        let out = cmd.out_len(hca::QUERY_ADAPTER_OUT_SIZE);
        let block = hca::QUERY_ADAPTER_PARAM_BLOCK;
        let _ = hca::ADAPTER_IEEE_VENDOR_ID
            .at(block)
            .set(out, u64::from(env.profile.ieee_vendor_id & 0xFF_FFFF));
        let psid = env.profile.psid.as_bytes();
        let n = psid.len().min(16);
        out[block + hca::ADAPTER_PSID..block + hca::ADAPTER_PSID + n].copy_from_slice(&psid[..n]);
        Ok(())
    }

    /// A fresh firmware with the same profile-derived settings (used by DISABLE_HCA).
    fn new_like(old: &Firmware) -> Firmware {
        Firmware {
            state: HcaState::Disabled,
            issi: 0,
            caps: old.caps.reset_clone(),
            pages: old.pages.reset_clone(),
            eqs: Default::default(),
            queues: Default::default(),
            uars: Default::default(),
            driver_version: None,
            regs: old.regs.clone(),
            umems: Default::default(),
            fast_teardown_prepared: false,
            eth: old.eth.reset_clone(),
        }
    }
}
