// The CUDA driver API, NVRTC and cuBLASLt as UniNLU uses them: types, enum values and
// function-pointer typedefs only. Nothing here links against CUDA: UniNLUCUDA loads the libraries
// with dlopen and resolves each symbol with dlsym, so the same binary runs on machines without a GPU.
// Values and layouts are copied from cuda.h / nvrtc.h / cublasLt.h / library_types.h (CUDA 12-13);
// every struct passed by value or array has its exact size asserted below.
#ifndef UNINLU_CCUDA_H
#define UNINLU_CCUDA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------------------------------------
// Driver API (libcuda.so.1)
typedef int CUresult;                 // enum cudaError_enum; 0 = CUDA_SUCCESS
typedef int CUdevice;                 // CUdevice_v1
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef struct CUgraph_st *CUgraph;
typedef struct CUgraphExec_st *CUgraphExec;

#define UNINLU_CUDA_SUCCESS 0
#define UNINLU_CUDA_ERROR_NO_DEVICE 100

// CUdevice_attribute values
#define UNINLU_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT 16
#define UNINLU_CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE 38
#define UNINLU_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR 75
#define UNINLU_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR 76
#define UNINLU_CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN 97
// CUfunction_attribute
#define UNINLU_CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES 8
// stream / event flags
#define UNINLU_CU_STREAM_NON_BLOCKING 0x1
#define UNINLU_CU_EVENT_DEFAULT 0x0
// CUstreamCaptureMode
#define UNINLU_CU_STREAM_CAPTURE_MODE_THREAD_LOCAL 1

typedef CUresult (*PFN_cuInit)(unsigned int flags);
typedef CUresult (*PFN_cuDriverGetVersion)(int *version);
typedef CUresult (*PFN_cuGetErrorName)(CUresult error, const char **name);
typedef CUresult (*PFN_cuGetErrorString)(CUresult error, const char **text);
typedef CUresult (*PFN_cuDeviceGetCount)(int *count);
typedef CUresult (*PFN_cuDeviceGet)(CUdevice *device, int ordinal);
typedef CUresult (*PFN_cuDeviceGetName)(char *name, int length, CUdevice device);
typedef CUresult (*PFN_cuDeviceGetAttribute)(int *value, int attribute, CUdevice device);
typedef CUresult (*PFN_cuDeviceTotalMem_v2)(size_t *bytes, CUdevice device);
typedef CUresult (*PFN_cuDevicePrimaryCtxRetain)(CUcontext *context, CUdevice device);
typedef CUresult (*PFN_cuDevicePrimaryCtxRelease_v2)(CUdevice device);
typedef CUresult (*PFN_cuCtxSetCurrent)(CUcontext context);
typedef CUresult (*PFN_cuCtxSynchronize)(void);
typedef CUresult (*PFN_cuMemGetInfo_v2)(size_t *free, size_t *total);
typedef CUresult (*PFN_cuMemAlloc_v2)(CUdeviceptr *pointer, size_t bytes);
typedef CUresult (*PFN_cuMemFree_v2)(CUdeviceptr pointer);
typedef CUresult (*PFN_cuMemAllocHost_v2)(void **pointer, size_t bytes);
typedef CUresult (*PFN_cuMemFreeHost)(void *pointer);
typedef CUresult (*PFN_cuMemcpyHtoDAsync_v2)(CUdeviceptr dst, const void *src, size_t bytes, CUstream stream);
typedef CUresult (*PFN_cuMemcpyDtoHAsync_v2)(void *dst, CUdeviceptr src, size_t bytes, CUstream stream);
typedef CUresult (*PFN_cuMemcpyDtoDAsync_v2)(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream);
typedef CUresult (*PFN_cuMemsetD8Async)(CUdeviceptr dst, unsigned char value, size_t count, CUstream stream);
typedef CUresult (*PFN_cuModuleLoadData)(CUmodule *module, const void *image);
typedef CUresult (*PFN_cuModuleUnload)(CUmodule module);
typedef CUresult (*PFN_cuModuleGetFunction)(CUfunction *function, CUmodule module, const char *name);
typedef CUresult (*PFN_cuFuncSetAttribute)(CUfunction function, int attribute, int value);
typedef CUresult (*PFN_cuLaunchKernel)(CUfunction f, unsigned int gridX, unsigned int gridY, unsigned int gridZ,
                                       unsigned int blockX, unsigned int blockY, unsigned int blockZ,
                                       unsigned int sharedBytes, CUstream stream, void **params, void **extra);
typedef CUresult (*PFN_cuStreamCreate)(CUstream *stream, unsigned int flags);
typedef CUresult (*PFN_cuStreamDestroy_v2)(CUstream stream);
typedef CUresult (*PFN_cuStreamSynchronize)(CUstream stream);
typedef CUresult (*PFN_cuEventCreate)(CUevent *event, unsigned int flags);
typedef CUresult (*PFN_cuEventDestroy_v2)(CUevent event);
typedef CUresult (*PFN_cuEventRecord)(CUevent event, CUstream stream);
typedef CUresult (*PFN_cuEventSynchronize)(CUevent event);
typedef CUresult (*PFN_cuEventElapsedTime)(float *milliseconds, CUevent start, CUevent end);
typedef CUresult (*PFN_cuStreamBeginCapture_v2)(CUstream stream, int mode);
typedef CUresult (*PFN_cuStreamEndCapture)(CUstream stream, CUgraph *graph);
typedef CUresult (*PFN_cuGraphInstantiateWithFlags)(CUgraphExec *exec, CUgraph graph, unsigned long long flags);
typedef CUresult (*PFN_cuGraphLaunch)(CUgraphExec exec, CUstream stream);
typedef CUresult (*PFN_cuGraphExecDestroy)(CUgraphExec exec);
typedef CUresult (*PFN_cuGraphDestroy)(CUgraph graph);

// ---------------------------------------------------------------------------------------------
// NVRTC (libnvrtc.so.13 / .12)
typedef int nvrtcResult;              // 0 = NVRTC_SUCCESS
typedef struct _nvrtcProgram *nvrtcProgram;

typedef nvrtcResult (*PFN_nvrtcVersion)(int *major, int *minor);
typedef const char *(*PFN_nvrtcGetErrorString)(nvrtcResult result);
typedef nvrtcResult (*PFN_nvrtcCreateProgram)(nvrtcProgram *program, const char *source, const char *name,
                                              int headerCount, const char *const *headers,
                                              const char *const *includeNames);
typedef nvrtcResult (*PFN_nvrtcDestroyProgram)(nvrtcProgram *program);
typedef nvrtcResult (*PFN_nvrtcCompileProgram)(nvrtcProgram program, int optionCount, const char *const *options);
typedef nvrtcResult (*PFN_nvrtcGetProgramLogSize)(nvrtcProgram program, size_t *size);
typedef nvrtcResult (*PFN_nvrtcGetProgramLog)(nvrtcProgram program, char *log);
typedef nvrtcResult (*PFN_nvrtcGetCUBINSize)(nvrtcProgram program, size_t *size);
typedef nvrtcResult (*PFN_nvrtcGetCUBIN)(nvrtcProgram program, char *cubin);

// ---------------------------------------------------------------------------------------------
// cuBLASLt (libcublasLt.so.13)
typedef int cublasStatus_t;           // 0 = CUBLAS_STATUS_SUCCESS
typedef struct cublasLtContext *cublasLtHandle_t;
typedef struct { uint64_t data[12]; } cublasLtMatmulDescOpaque_t;
typedef cublasLtMatmulDescOpaque_t *cublasLtMatmulDesc_t;
typedef struct { uint64_t data[8]; } cublasLtMatrixLayoutOpaque_t;
typedef cublasLtMatrixLayoutOpaque_t *cublasLtMatrixLayout_t;
typedef struct { uint64_t data[10]; } cublasLtMatmulPreferenceOpaque_t;
typedef cublasLtMatmulPreferenceOpaque_t *cublasLtMatmulPreference_t;

/// Semi-opaque algorithm descriptor: 64 bytes, trivially copyable (a plan may store it).
typedef struct { uint64_t data[8]; } cublasLtMatmulAlgo_t;

typedef struct {
    cublasLtMatmulAlgo_t algo;
    size_t workspaceSize;
    cublasStatus_t state;
    float wavesCount;
    int reserved[4];
} cublasLtMatmulHeuristicResult_t;

_Static_assert(sizeof(cublasLtMatmulAlgo_t) == 64, "cublasLtMatmulAlgo_t is 64 bytes");
_Static_assert(sizeof(cublasLtMatmulHeuristicResult_t) == 96, "cublasLtMatmulHeuristicResult_t is 96 bytes");

// cudaDataType_t
#define UNINLU_CUDA_R_32F 0
#define UNINLU_CUDA_R_16F 2
// cublasComputeType_t
#define UNINLU_CUBLAS_COMPUTE_32F 68
// cublasOperation_t
#define UNINLU_CUBLAS_OP_N 0
#define UNINLU_CUBLAS_OP_T 1
// cublasLtMatmulDescAttributes_t
#define UNINLU_CUBLASLT_MATMUL_DESC_TRANSA 3
#define UNINLU_CUBLASLT_MATMUL_DESC_TRANSB 4
#define UNINLU_CUBLASLT_MATMUL_DESC_EPILOGUE 7
#define UNINLU_CUBLASLT_MATMUL_DESC_BIAS_POINTER 8
// cublasLtEpilogue_t
#define UNINLU_CUBLASLT_EPILOGUE_DEFAULT 1
#define UNINLU_CUBLASLT_EPILOGUE_BIAS 4
#define UNINLU_CUBLASLT_EPILOGUE_GELU 32
#define UNINLU_CUBLASLT_EPILOGUE_GELU_BIAS 36
// cublasLtMatmulPreferenceAttributes_t
#define UNINLU_CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES 1
// cublasLtMatrixLayoutAttribute_t: int32_t batch count, int64_t element offset between batches
#define UNINLU_CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT 5
#define UNINLU_CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET 6

typedef size_t (*PFN_cublasLtGetVersion)(void);
typedef const char *(*PFN_cublasLtGetStatusName)(cublasStatus_t status);
typedef cublasStatus_t (*PFN_cublasLtCreate)(cublasLtHandle_t *handle);
typedef cublasStatus_t (*PFN_cublasLtDestroy)(cublasLtHandle_t handle);
typedef cublasStatus_t (*PFN_cublasLtMatmulDescCreate)(cublasLtMatmulDesc_t *desc, int computeType, int scaleType);
typedef cublasStatus_t (*PFN_cublasLtMatmulDescDestroy)(cublasLtMatmulDesc_t desc);
typedef cublasStatus_t (*PFN_cublasLtMatmulDescSetAttribute)(cublasLtMatmulDesc_t desc, int attribute,
                                                             const void *buffer, size_t bytes);
typedef cublasStatus_t (*PFN_cublasLtMatrixLayoutCreate)(cublasLtMatrixLayout_t *layout, int type, uint64_t rows,
                                                         uint64_t cols, int64_t ld);
typedef cublasStatus_t (*PFN_cublasLtMatrixLayoutDestroy)(cublasLtMatrixLayout_t layout);
typedef cublasStatus_t (*PFN_cublasLtMatrixLayoutSetAttribute)(cublasLtMatrixLayout_t layout, int attribute,
                                                               const void *buffer, size_t bytes);
typedef cublasStatus_t (*PFN_cublasLtMatmulPreferenceCreate)(cublasLtMatmulPreference_t *preference);
typedef cublasStatus_t (*PFN_cublasLtMatmulPreferenceDestroy)(cublasLtMatmulPreference_t preference);
typedef cublasStatus_t (*PFN_cublasLtMatmulPreferenceSetAttribute)(cublasLtMatmulPreference_t preference, int attribute,
                                                                   const void *buffer, size_t bytes);
typedef cublasStatus_t (*PFN_cublasLtMatmulAlgoGetHeuristic)(
    cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
    cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d, cublasLtMatmulPreference_t preference, int requested,
    cublasLtMatmulHeuristicResult_t *results, int *returned);
typedef cublasStatus_t (*PFN_cublasLtMatmulAlgoCheck)(
    cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
    cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d, const cublasLtMatmulAlgo_t *algo, cublasLtMatmulHeuristicResult_t *result);
typedef cublasStatus_t (*PFN_cublasLtMatmul)(
    cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, const void *alpha, const void *a, cublasLtMatrixLayout_t aLayout,
    const void *b, cublasLtMatrixLayout_t bLayout, const void *beta, const void *c, cublasLtMatrixLayout_t cLayout,
    void *d, cublasLtMatrixLayout_t dLayout, const cublasLtMatmulAlgo_t *algo, void *workspace, size_t workspaceBytes,
    CUstream stream);

// ---------------------------------------------------------------------------------------------
// dlopen / dlsym, wrapped so that Swift sees one spelling on every libc.
void *uninlu_dlopen(const char *path);
void *uninlu_dlsym(void *library, const char *name);
const char *uninlu_dlerror(void);

#ifdef __cplusplus
}
#endif
#endif
