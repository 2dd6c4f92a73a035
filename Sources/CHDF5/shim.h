// libhdf5 for Swift. Swift cannot import the macros that expand to globals or function calls
// (H5T_NATIVE_FLOAT, H5F_ACC_TRUNC, H5P_DEFAULT as hid_t …); these static-inline getters stand in.
#ifndef ALAMBIQUE_CHDF5_SHIM_H
#define ALAMBIQUE_CHDF5_SHIM_H
#include <hdf5.h>

// File access flags.
static inline unsigned h5_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned h5_acc_excl(void) { return H5F_ACC_EXCL; }
static inline unsigned h5_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned h5_acc_rdwr(void) { return H5F_ACC_RDWR; }

// Default property list and "all of the dataspace", as hid_t.
static inline hid_t h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t h5s_all(void) { return H5S_ALL; }
static inline hsize_t h5s_unlimited(void) { return H5S_UNLIMITED; }
static inline size_t h5t_variable(void) { return H5T_VARIABLE; }

// Property list classes.
static inline hid_t h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t h5p_dataset_access(void) { return H5P_DATASET_ACCESS; }
static inline hid_t h5p_file_access(void) { return H5P_FILE_ACCESS; }

// Native memory types.
static inline hid_t h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t h5t_native_int8(void) { return H5T_NATIVE_INT8; }
static inline hid_t h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t h5t_native_int16(void) { return H5T_NATIVE_INT16; }
static inline hid_t h5t_native_uint16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t h5t_native_uint32(void) { return H5T_NATIVE_UINT32; }
static inline hid_t h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t h5t_native_uint64(void) { return H5T_NATIVE_UINT64; }

// File (storage) types, little-endian.
static inline hid_t h5t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t h5t_ieee_f64le(void) { return H5T_IEEE_F64LE; }
static inline hid_t h5t_std_i8le(void) { return H5T_STD_I8LE; }
static inline hid_t h5t_std_u8le(void) { return H5T_STD_U8LE; }
static inline hid_t h5t_std_u16le(void) { return H5T_STD_U16LE; }
static inline hid_t h5t_std_i32le(void) { return H5T_STD_I32LE; }
static inline hid_t h5t_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t h5t_c_s1(void) { return H5T_C_S1; }

/// A little-endian IEEE half-precision type (HDF5 1.10 has no predefined one). h5py reads it as float16.
/// The caller closes it with H5Tclose.
static inline hid_t h5t_make_f16le(void) {
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    H5Tset_fields(t, 15, 10, 5, 0, 10);
    H5Tset_size(t, 2);
    H5Tset_ebias(t, 15);
    return t;
}

/// Silence libhdf5's automatic error-stack printing; our wrapper reports errors itself.
static inline void h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
#endif
