//! Command opcodes (`MLX5_CMD_OP_*`, `mlx5_ifc.h`; reference §5.1). Names drop the
//! `MLX5_CMD_OP_` prefix; `2ERR_QP`/`2RST_QP` become `TO_ERR_QP`/`TO_RST_QP`.

use super::named::named_values;

/// A command opcode (input header dw0 bits 31:16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Opcode(pub u16);

named_values!(Opcode: u16 {
    /// Query HCA capabilities (op_mod = cap_type << 1 | current).
    QUERY_HCA_CAP = 0x100,
    /// Query adapter (vendor id, PSID).
    QUERY_ADAPTER = 0x101,
    /// Initialize the HCA.
    INIT_HCA = 0x102,
    /// Tear the HCA down.
    TEARDOWN_HCA = 0x103,
    /// Enable the function.
    ENABLE_HCA = 0x104,
    /// Disable the function.
    DISABLE_HCA = 0x105,
    /// How many pages FW wants.
    QUERY_PAGES = 0x107,
    /// Give or take pages.
    MANAGE_PAGES = 0x108,
    /// Set HCA capabilities.
    SET_HCA_CAP = 0x109,
    /// Query the interface step sequence id.
    QUERY_ISSI = 0x10A,
    /// Set the interface step sequence id.
    SET_ISSI = 0x10B,
    /// Report the driver version string.
    SET_DRIVER_VERSION = 0x10D,
    /// Query SF partitions.
    QUERY_SF_PARTITION = 0x111,
    /// Allocate a sub-function.
    ALLOC_SF = 0x113,
    /// Free a sub-function.
    DEALLOC_SF = 0x114,
    /// Suspend a vHCA (migration).
    SUSPEND_VHCA = 0x115,
    /// Resume a vHCA (migration).
    RESUME_VHCA = 0x116,
    /// Query vHCA migration state.
    QUERY_VHCA_MIGRATION_STATE = 0x117,
    /// Save vHCA state.
    SAVE_VHCA_STATE = 0x118,
    /// Load vHCA state.
    LOAD_VHCA_STATE = 0x119,
    /// Create a memory key.
    CREATE_MKEY = 0x200,
    /// Query a memory key.
    QUERY_MKEY = 0x201,
    /// Destroy a memory key.
    DESTROY_MKEY = 0x202,
    /// Query special contexts (reserved lkey, ...).
    QUERY_SPECIAL_CONTEXTS = 0x203,
    /// Resume after a page fault.
    PAGE_FAULT_RESUME = 0x204,
    /// Allocate device memory.
    ALLOC_MEMIC = 0x205,
    /// Free device memory.
    DEALLOC_MEMIC = 0x206,
    /// Create an event queue.
    CREATE_EQ = 0x301,
    /// Destroy an event queue.
    DESTROY_EQ = 0x302,
    /// Query an event queue.
    QUERY_EQ = 0x303,
    /// Generate an EQE (debug).
    GEN_EQE = 0x304,
    /// Create a completion queue.
    CREATE_CQ = 0x400,
    /// Destroy a completion queue.
    DESTROY_CQ = 0x401,
    /// Query a completion queue.
    QUERY_CQ = 0x402,
    /// Modify a completion queue.
    MODIFY_CQ = 0x403,
    /// Create a QP.
    CREATE_QP = 0x500,
    /// Destroy a QP.
    DESTROY_QP = 0x501,
    /// QP RST -> INIT.
    RST2INIT_QP = 0x502,
    /// QP INIT -> RTR.
    INIT2RTR_QP = 0x503,
    /// QP RTR -> RTS.
    RTR2RTS_QP = 0x504,
    /// QP RTS -> RTS.
    RTS2RTS_QP = 0x505,
    /// QP SQERR -> RTS.
    SQERR2RTS_QP = 0x506,
    /// QP any -> ERR (`MLX5_CMD_OP_2ERR_QP`).
    TO_ERR_QP = 0x507,
    /// QP any -> RST (`MLX5_CMD_OP_2RST_QP`).
    TO_RST_QP = 0x50A,
    /// Query a QP.
    QUERY_QP = 0x50B,
    /// QP SQD -> RTS.
    SQD_RTS_QP = 0x50C,
    /// MAD interface.
    MAD_IFC = 0x50D,
    /// QP INIT -> INIT.
    INIT2INIT_QP = 0x50E,
    /// Create a PSV.
    CREATE_PSV = 0x600,
    /// Destroy a PSV.
    DESTROY_PSV = 0x601,
    /// Create an SRQ.
    CREATE_SRQ = 0x700,
    /// Destroy an SRQ.
    DESTROY_SRQ = 0x701,
    /// Query an SRQ.
    QUERY_SRQ = 0x702,
    /// Arm an RQ.
    ARM_RQ = 0x703,
    /// Create an XRC SRQ.
    CREATE_XRC_SRQ = 0x705,
    /// Destroy an XRC SRQ.
    DESTROY_XRC_SRQ = 0x706,
    /// Query an XRC SRQ.
    QUERY_XRC_SRQ = 0x707,
    /// Arm an XRC SRQ.
    ARM_XRC_SRQ = 0x708,
    /// Create a DCT.
    CREATE_DCT = 0x710,
    /// Destroy a DCT.
    DESTROY_DCT = 0x711,
    /// Drain a DCT.
    DRAIN_DCT = 0x712,
    /// Query a DCT.
    QUERY_DCT = 0x713,
    /// Arm a DCT for key violation.
    ARM_DCT_FOR_KEY_VIOLATION = 0x714,
    /// Query e-switch functions.
    QUERY_ESW_FUNCTIONS = 0x740,
    /// Query vport state.
    QUERY_VPORT_STATE = 0x750,
    /// Modify vport state.
    MODIFY_VPORT_STATE = 0x751,
    /// Query e-switch vport context.
    QUERY_ESW_VPORT_CONTEXT = 0x752,
    /// Modify e-switch vport context.
    MODIFY_ESW_VPORT_CONTEXT = 0x753,
    /// Query NIC vport context.
    QUERY_NIC_VPORT_CONTEXT = 0x754,
    /// Modify NIC vport context.
    MODIFY_NIC_VPORT_CONTEXT = 0x755,
    /// Query HCA vport context.
    QUERY_HCA_VPORT_CONTEXT = 0x762,
    /// Modify HCA vport context.
    MODIFY_HCA_VPORT_CONTEXT = 0x763,
    /// Query HCA vport GID.
    QUERY_HCA_VPORT_GID = 0x764,
    /// Query HCA vport PKEY.
    QUERY_HCA_VPORT_PKEY = 0x765,
    /// Query a vport counter.
    QUERY_VPORT_COUNTER = 0x770,
    /// Allocate a Q counter.
    ALLOC_Q_COUNTER = 0x771,
    /// Free a Q counter.
    DEALLOC_Q_COUNTER = 0x772,
    /// Query a Q counter.
    QUERY_Q_COUNTER = 0x773,
    /// Create a scheduling element.
    CREATE_SCHEDULING_ELEMENT = 0x782,
    /// Destroy a scheduling element.
    DESTROY_SCHEDULING_ELEMENT = 0x783,
    /// Query a scheduling element.
    QUERY_SCHEDULING_ELEMENT = 0x784,
    /// Modify a scheduling element.
    MODIFY_SCHEDULING_ELEMENT = 0x785,
    /// Create a QoS para-vport.
    CREATE_QOS_PARA_VPORT = 0x786,
    /// Destroy a QoS para-vport.
    DESTROY_QOS_PARA_VPORT = 0x787,
    /// Allocate a protection domain.
    ALLOC_PD = 0x800,
    /// Free a protection domain.
    DEALLOC_PD = 0x801,
    /// Allocate a UAR page.
    ALLOC_UAR = 0x802,
    /// Free a UAR page.
    DEALLOC_UAR = 0x803,
    /// Configure interrupt moderation.
    CONFIG_INT_MODERATION = 0x804,
    /// Read or write a register.
    ACCESS_REG = 0x805,
    /// Attach a QP to a multicast group.
    ATTACH_TO_MCG = 0x806,
    /// Detach a QP from a multicast group.
    DETACH_FROM_MCG = 0x807,
    /// No operation.
    NOP = 0x80D,
    /// Allocate an XRC domain.
    ALLOC_XRCD = 0x80E,
    /// Free an XRC domain.
    DEALLOC_XRCD = 0x80F,
    /// Allocate a transport domain.
    ALLOC_TRANSPORT_DOMAIN = 0x816,
    /// Free a transport domain.
    DEALLOC_TRANSPORT_DOMAIN = 0x817,
    /// Create a LAG.
    CREATE_LAG = 0x840,
    /// Modify a LAG.
    MODIFY_LAG = 0x841,
    /// Query a LAG.
    QUERY_LAG = 0x842,
    /// Destroy a LAG.
    DESTROY_LAG = 0x843,
    /// Create a vport LAG.
    CREATE_VPORT_LAG = 0x844,
    /// Destroy a vport LAG.
    DESTROY_VPORT_LAG = 0x845,
    /// Create a TIR.
    CREATE_TIR = 0x900,
    /// Modify a TIR.
    MODIFY_TIR = 0x901,
    /// Destroy a TIR.
    DESTROY_TIR = 0x902,
    /// Query a TIR.
    QUERY_TIR = 0x903,
    /// Create an SQ.
    CREATE_SQ = 0x904,
    /// Modify an SQ.
    MODIFY_SQ = 0x905,
    /// Destroy an SQ.
    DESTROY_SQ = 0x906,
    /// Query an SQ.
    QUERY_SQ = 0x907,
    /// Create an RQ.
    CREATE_RQ = 0x908,
    /// Modify an RQ.
    MODIFY_RQ = 0x909,
    /// Destroy an RQ.
    DESTROY_RQ = 0x90A,
    /// Query an RQ.
    QUERY_RQ = 0x90B,
    /// Create a TIS.
    CREATE_TIS = 0x912,
    /// Modify a TIS.
    MODIFY_TIS = 0x913,
    /// Destroy a TIS.
    DESTROY_TIS = 0x914,
    /// Query a TIS.
    QUERY_TIS = 0x915,
    /// Create an RQT.
    CREATE_RQT = 0x916,
    /// Modify an RQT.
    MODIFY_RQT = 0x917,
    /// Destroy an RQT.
    DESTROY_RQT = 0x918,
    /// Query an RQT.
    QUERY_RQT = 0x919,
    /// Set the flow table root.
    SET_FLOW_TABLE_ROOT = 0x92F,
    /// Create a flow table.
    CREATE_FLOW_TABLE = 0x930,
    /// Destroy a flow table.
    DESTROY_FLOW_TABLE = 0x931,
    /// Query a flow table.
    QUERY_FLOW_TABLE = 0x932,
    /// Create a flow group.
    CREATE_FLOW_GROUP = 0x933,
    /// Destroy a flow group.
    DESTROY_FLOW_GROUP = 0x934,
    /// Query a flow group.
    QUERY_FLOW_GROUP = 0x935,
    /// Set a flow table entry.
    SET_FLOW_TABLE_ENTRY = 0x936,
    /// Query a flow table entry.
    QUERY_FLOW_TABLE_ENTRY = 0x937,
    /// Delete a flow table entry.
    DELETE_FLOW_TABLE_ENTRY = 0x938,
    /// Allocate a flow counter.
    ALLOC_FLOW_COUNTER = 0x939,
    /// Free a flow counter.
    DEALLOC_FLOW_COUNTER = 0x93A,
    /// Query a flow counter.
    QUERY_FLOW_COUNTER = 0x93B,
    /// Modify a flow table.
    MODIFY_FLOW_TABLE = 0x93C,
    /// Allocate a packet reformat context.
    ALLOC_PACKET_REFORMAT_CONTEXT = 0x93D,
    /// Free a packet reformat context.
    DEALLOC_PACKET_REFORMAT_CONTEXT = 0x93E,
    /// Allocate a modify-header context.
    ALLOC_MODIFY_HEADER_CONTEXT = 0x940,
    /// Free a modify-header context.
    DEALLOC_MODIFY_HEADER_CONTEXT = 0x941,
    /// Query a modify-header context.
    QUERY_MODIFY_HEADER_CONTEXT = 0x942,
    /// Create a general object.
    CREATE_GENERAL_OBJECT = 0xA00,
    /// Modify a general object.
    MODIFY_GENERAL_OBJECT = 0xA01,
    /// Query a general object.
    QUERY_GENERAL_OBJECT = 0xA02,
    /// Destroy a general object.
    DESTROY_GENERAL_OBJECT = 0xA03,
    /// Create a user context.
    CREATE_UCTX = 0xA04,
    /// Destroy a user context.
    DESTROY_UCTX = 0xA06,
    /// Register user memory.
    CREATE_UMEM = 0xA08,
    /// Deregister user memory.
    DESTROY_UMEM = 0xA0A,
    /// Sync steering.
    SYNC_STEERING = 0xB00,
    /// Query vHCA state.
    QUERY_VHCA_STATE = 0xB0D,
    /// Modify vHCA state.
    MODIFY_VHCA_STATE = 0xB0E,
    /// Sync crypto.
    SYNC_CRYPTO = 0xB12,
    /// Allow another vHCA to access objects.
    ALLOW_OTHER_VHCA_ACCESS = 0xB16,
});
