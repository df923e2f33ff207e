//! The capabilities of the Ethernet control plane (`mlx5_ifc.h`): the
//! `cmd_hca_cap` fields mlx5e reads that [`super::caps::general`] does not
//! name, the Ethernet offloads page (cap type 0x1,
//! `per_protocol_networking_offload_caps`) and the NIC flow-table page (cap
//! type 0x7, `flow_table_nic_cap` with its `flow_table_prop_layout`s).
//! Offsets are relative to the capability block, as in [`super::caps`].

/// `cmd_hca_cap` fields of the Ethernet control plane.
pub mod general {
    use crate::ifc::field::Field;

    /// `vport_counters`.
    pub const VPORT_COUNTERS: Field = Field::new("vport_counters", 0x30, 30, 1);
    /// `max_qp_cnt`: how many Q counters (ALLOC_Q_COUNTER) the function may have.
    pub const MAX_QP_CNT: Field = Field::new("max_qp_cnt", 0x30, 16, 10);
    /// `cq_moderation`.
    pub const CQ_MODERATION: Field = Field::new("cq_moderation", 0x44, 29, 1);
    /// `log_max_rqt_size`: entries of one RQT.
    pub const LOG_MAX_RQT_SIZE: Field = Field::new("log_max_rqt_size", 0x70, 8, 5);
    /// `log_max_tis_per_sq`.
    pub const LOG_MAX_TIS_PER_SQ: Field = Field::new("log_max_tis_per_sq", 0x70, 0, 5);
    /// `log_max_wq_sz`.
    pub const LOG_MAX_WQ_SZ: Field = Field::new("log_max_wq_sz", 0x78, 0, 5);
    /// `log_max_vlan_list`.
    pub const LOG_MAX_VLAN_LIST: Field = Field::new("log_max_vlan_list", 0x7C, 16, 5);
    /// `log_max_current_mc_list`.
    pub const LOG_MAX_CURRENT_MC_LIST: Field = Field::new("log_max_current_mc_list", 0x7C, 8, 5);
    /// `log_max_current_uc_list`.
    pub const LOG_MAX_CURRENT_UC_LIST: Field = Field::new("log_max_current_uc_list", 0x7C, 0, 5);
    /// `max_wqe_sz_rq`.
    pub const MAX_WQE_SZ_RQ: Field = Field::new("max_wqe_sz_rq", 0x54, 0, 16);
}

/// The Ethernet offloads page (`per_protocol_networking_offload_caps`).
pub mod eth_offloads {
    use crate::ifc::field::Field;

    /// `csum_cap`: checksum offload.
    pub const CSUM_CAP: Field = Field::new("csum_cap", 0x00, 31, 1);
    /// `vlan_cap`: VLAN stripping.
    pub const VLAN_CAP: Field = Field::new("vlan_cap", 0x00, 30, 1);
    /// `lro_cap`.
    pub const LRO_CAP: Field = Field::new("lro_cap", 0x00, 29, 1);
    /// `wqe_vlan_insert`.
    pub const WQE_VLAN_INSERT: Field = Field::new("wqe_vlan_insert", 0x00, 24, 1);
    /// `self_lb_en_modifiable`: the TIR's self loopback block may be set.
    pub const SELF_LB_EN_MODIFIABLE: Field = Field::new("self_lb_en_modifiable", 0x00, 23, 1);
    /// `max_lso_cap`: log2 of the largest LSO payload.
    pub const MAX_LSO_CAP: Field = Field::new("max_lso_cap", 0x00, 16, 5);
    /// `multi_pkt_send_wqe`.
    pub const MULTI_PKT_SEND_WQE: Field = Field::new("multi_pkt_send_wqe", 0x00, 14, 2);
    /// `wqe_inline_mode` (0 L2, 1 vport context, 2 not required).
    pub const WQE_INLINE_MODE: Field = Field::new("wqe_inline_mode", 0x00, 12, 2);
    /// `rss_ind_tbl_cap`: log2 of the largest RSS indirection table.
    pub const RSS_IND_TBL_CAP: Field = Field::new("rss_ind_tbl_cap", 0x00, 8, 4);
    /// `scatter_fcs`.
    pub const SCATTER_FCS: Field = Field::new("scatter_fcs", 0x00, 6, 1);
    /// `lro_min_mss_size`.
    pub const LRO_MIN_MSS_SIZE: Field = Field::new("lro_min_mss_size", 0x08, 0, 16);

    /// `wqe_inline_mode` values (`MLX5_CAP_INLINE_MODE_*`).
    pub mod inline_mode {
        /// The SQ WQE carries the L2 header inline.
        pub const L2: u64 = 0;
        /// As the NIC vport context's `min_wqe_inline_mode` says.
        pub const VPORT_CONTEXT: u64 = 1;
        /// No inline header needed.
        pub const NOT_REQUIRED: u64 = 2;
    }
}

/// The NIC flow-table page (`flow_table_nic_cap`).
pub mod flow_table {
    use crate::ifc::field::Field;

    /// `flow_table_properties_nic_receive`.
    pub const NIC_RECEIVE: usize = 0x40;
    /// `flow_table_properties_nic_receive_rdma`.
    pub const NIC_RECEIVE_RDMA: usize = 0x80;
    /// `flow_table_properties_nic_receive_sniffer`.
    pub const NIC_RECEIVE_SNIFFER: usize = 0xC0;
    /// `flow_table_properties_nic_transmit`.
    pub const NIC_TRANSMIT: usize = 0x100;

    /// `flow_table_prop_layout` fields, relative to one properties block
    /// (add its offset with [`Field::at`]).
    pub mod prop {
        use crate::ifc::field::Field;

        /// `ft_support`.
        pub const FT_SUPPORT: Field = Field::new("ft_support", 0x00, 31, 1);
        /// `flow_modify_en`.
        pub const FLOW_MODIFY_EN: Field = Field::new("flow_modify_en", 0x00, 28, 1);
        /// `modify_root`: SET_FLOW_TABLE_ROOT may change the root.
        pub const MODIFY_ROOT: Field = Field::new("modify_root", 0x00, 27, 1);
        /// `identified_miss_table_mode`.
        pub const IDENTIFIED_MISS_TABLE_MODE: Field =
            Field::new("identified_miss_table_mode", 0x00, 26, 1);
        /// `flow_table_modify`.
        pub const FLOW_TABLE_MODIFY: Field = Field::new("flow_table_modify", 0x00, 25, 1);
        /// `log_max_ft_size`.
        pub const LOG_MAX_FT_SIZE: Field = Field::new("log_max_ft_size", 0x04, 24, 6);
        /// `max_ft_level`.
        pub const MAX_FT_LEVEL: Field = Field::new("max_ft_level", 0x04, 0, 8);
        /// `log_max_ft_num`.
        pub const LOG_MAX_FT_NUM: Field = Field::new("log_max_ft_num", 0x0C, 0, 8);
        /// `log_max_destination`.
        pub const LOG_MAX_DESTINATION: Field = Field::new("log_max_destination", 0x10, 0, 8);
        /// `log_max_flow`.
        pub const LOG_MAX_FLOW: Field = Field::new("log_max_flow", 0x14, 0, 8);
        /// `ft_field_support` (`flow_table_fields_supported`, 16 bytes).
        pub const FT_FIELD_SUPPORT: usize = 0x20;
        /// `ft_field_bitmask_support` (16 bytes).
        pub const FT_FIELD_BITMASK_SUPPORT: usize = 0x30;
    }

    /// `flow_table_fields_supported` bits (dword 0), relative to the block.
    pub mod fields {
        use crate::ifc::field::Field;

        /// `outer_dmac`.
        pub const OUTER_DMAC: Field = Field::new("outer_dmac", 0x00, 31, 1);
        /// `outer_ether_type`.
        pub const OUTER_ETHER_TYPE: Field = Field::new("outer_ether_type", 0x00, 29, 1);
        /// `outer_ip_version`.
        pub const OUTER_IP_VERSION: Field = Field::new("outer_ip_version", 0x00, 28, 1);
        /// `outer_first_vid`.
        pub const OUTER_FIRST_VID: Field = Field::new("outer_first_vid", 0x00, 25, 1);
        /// `outer_ip_protocol`.
        pub const OUTER_IP_PROTOCOL: Field = Field::new("outer_ip_protocol", 0x00, 16, 1);
    }

    /// A field of the receive properties, as a `Field` of the page.
    pub const fn nic_rx(f: Field) -> Field {
        f.at(NIC_RECEIVE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_match_mlx5_ifc() {
        // cmd_hca_cap: log_max_current_uc_list at bit 0x3fb (5 bits),
        // max_qp_cnt at 0x186 (10 bits).
        assert_eq!(general::LOG_MAX_CURRENT_UC_LIST.byte * 8 + 31 - 4, 0x3fb);
        assert_eq!(general::MAX_QP_CNT.byte * 8 + 31 - 25, 0x186);
        // per_protocol_networking_offload_caps: max_lso_cap at bit 0xb,
        // rss_ind_tbl_cap at 0x14.
        assert_eq!(31 - eth_offloads::MAX_LSO_CAP.bit - 4, 0xb);
        assert_eq!(31 - eth_offloads::RSS_IND_TBL_CAP.bit - 3, 0x14);
        // flow_table_prop_layout: max_ft_level at bit 0x38, log_max_ft_size 0x22.
        let lvl = flow_table::nic_rx(flow_table::prop::MAX_FT_LEVEL);
        assert_eq!(lvl.byte * 8 + 31 - 7, 0x200 + 0x38);
        assert_eq!(
            flow_table::prop::LOG_MAX_FT_SIZE.bit,
            31 - (0x22 - 0x20) - 5
        );
    }
}
