// Device helpers shared by every kernel source: FP16 <-> FP32 by PTX `cvt` (no cuda_fp16.h: NVRTC
// ships no headers and nothing of the CUDA SDK is assumed), the activation type `act_t` chosen by
// -DUNINLU_FP16, warp and block reductions. Statistics and accumulators are always FP32.

enum KernelPrelude {
    static let source = #"""
    typedef unsigned short uninlu_f16;
    __device__ __forceinline__ float f16_to_f32(uninlu_f16 h) { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h)); return f; }
    __device__ __forceinline__ uninlu_f16 f32_to_f16(float f) { uninlu_f16 h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f)); return h; }
    #define NEG_INF __int_as_float(0xff800000)

    #if UNINLU_FP16
    typedef uninlu_f16 act_t;
    __device__ __forceinline__ float load_act(const act_t* p, long i) { return f16_to_f32(p[i]); }
    __device__ __forceinline__ void store_act(act_t* p, long i, float v) { p[i] = f32_to_f16(v); }
    // Eight consecutive activations from a 16-byte aligned address.
    __device__ __forceinline__ void load_act8(const act_t* p, float* out) {
        uint4 raw = *reinterpret_cast<const uint4*>(p);
        unsigned int w[4] = {raw.x, raw.y, raw.z, raw.w};
        #pragma unroll
        for (int i = 0; i < 4; ++i) {
            out[2 * i] = f16_to_f32((uninlu_f16)(w[i] & 0xffffu));
            out[2 * i + 1] = f16_to_f32((uninlu_f16)(w[i] >> 16));
        }
    }
    // Eight consecutive activations to a 16-byte aligned address.
    __device__ __forceinline__ void store_act8(act_t* p, const float* v) {
        uint4 raw;
        raw.x = (unsigned int)f32_to_f16(v[0]) | ((unsigned int)f32_to_f16(v[1]) << 16);
        raw.y = (unsigned int)f32_to_f16(v[2]) | ((unsigned int)f32_to_f16(v[3]) << 16);
        raw.z = (unsigned int)f32_to_f16(v[4]) | ((unsigned int)f32_to_f16(v[5]) << 16);
        raw.w = (unsigned int)f32_to_f16(v[6]) | ((unsigned int)f32_to_f16(v[7]) << 16);
        *reinterpret_cast<uint4*>(p) = raw;
    }
    #else
    typedef float act_t;
    __device__ __forceinline__ float load_act(const act_t* p, long i) { return p[i]; }
    __device__ __forceinline__ void store_act(act_t* p, long i, float v) { p[i] = v; }
    __device__ __forceinline__ void load_act8(const act_t* p, float* out) {
        float4 a = *reinterpret_cast<const float4*>(p);
        float4 b = *reinterpret_cast<const float4*>(p + 4);
        out[0] = a.x; out[1] = a.y; out[2] = a.z; out[3] = a.w;
        out[4] = b.x; out[5] = b.y; out[6] = b.z; out[7] = b.w;
    }
    __device__ __forceinline__ void store_act8(act_t* p, const float* v) {
        *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
        *reinterpret_cast<float4*>(p + 4) = make_float4(v[4], v[5], v[6], v[7]);
    }
    #endif

    __device__ __forceinline__ float warp_sum(float v) {
        #pragma unroll
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
        return v;
    }
    __device__ __forceinline__ float warp_max(float v) {
        #pragma unroll
        for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
        return v;
    }
    // Sum over the block; `scratch` holds 32 floats. Every thread gets the total.
    __device__ float block_sum(float v, float* scratch) {
        v = warp_sum(v);
        const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
        __syncthreads();
        if (lane == 0) scratch[warp] = v;
        __syncthreads();
        if (warp == 0) {
            const int warps = (blockDim.x + 31) >> 5;
            float t = lane < warps ? scratch[lane] : 0.f;
            t = warp_sum(t);
            if (lane == 0) scratch[0] = t;
        }
        __syncthreads();
        return scratch[0];
    }
    // Split-key attention (4 warps share one 16-query item, head size 64, mma.sync fragments): each
    // warp stores its partial rows at `mine` (O [16][64], then m[16], l[16]: 1,056 floats), and row r's
    // dims d, d+1 are merged over the `splits` warps' partials `stride` floats apart as split-softmax
    // partials. Returns the merged sum L (0 when every key of the row was masked).
    __device__ __forceinline__ void split_store_partials(float* mine, const float (&o)[8][4], float m0, float m1, float l0, float l1) {
        const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
        #pragma unroll
        for (int n = 0; n < 8; ++n) {
            const int d = n * 8 + t * 2;
            mine[g * 64 + d] = o[n][0]; mine[g * 64 + d + 1] = o[n][1];
            mine[(g + 8) * 64 + d] = o[n][2]; mine[(g + 8) * 64 + d + 1] = o[n][3];
        }
        if (t == 0) { mine[1024 + g] = m0; mine[1024 + g + 8] = m1; mine[1040 + g] = l0; mine[1040 + g + 8] = l1; }
    }
    __device__ __forceinline__ float split_merge_row(const float* base, int stride, int splits, int r, int d, float& a0, float& a1) {
        float M = NEG_INF;
        for (int w = 0; w < splits; ++w) M = fmaxf(M, base[w * stride + 1024 + r]);
        float L = 0.f;
        a0 = 0.f; a1 = 0.f;
        if (M == NEG_INF) return 0.f;
        for (int w = 0; w < splits; ++w) {
            const float* part = base + w * stride;
            const float mw = part[1024 + r];
            const float c = mw == NEG_INF ? 0.f : expf(mw - M);   // a warp that saw no key: weight 0
            L += part[1040 + r] * c;
            a0 += part[r * 64 + d] * c;
            a1 += part[r * 64 + d + 1] * c;
        }
        return L;
    }
    __device__ __forceinline__ float gelu_erf(float x) { return 0.5f * x * (1.f + erff(x * 0.70710678118654752f)); }
    """#
}
