// FP32 <-> activation type (FP16 or FP32) conversion, grid-stride over a flat buffer. Used for
// uploads and downloads: the host side of every backend speaks FP32.

enum ConvertKernel {
    static let source = #"""
    extern "C" __global__ void convert_f32_to_act(const float* src, act_t* dst, long count) {
        for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += (long)gridDim.x * blockDim.x)
            store_act(dst, i, src[i]);
    }
    extern "C" __global__ void convert_act_to_f32(const act_t* src, float* dst, long count) {
        for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += (long)gridDim.x * blockDim.x)
            dst[i] = load_act(src, i);
    }
    """#
    static let names = ["convert_f32_to_act", "convert_act_to_f32"]
}
