// Tensor-core building blocks shared by the attention kernels: FP16 pair packing, mma.sync
// m16n8k16 (FP16 operands, FP32 accumulators), ldmatrix, and cp.async copies.
// Inline PTX only, so NVRTC needs no CUDA headers (as in KernelPrelude.swift).

enum TensorCorePrelude {
    static let source = #"""
    __device__ __forceinline__ unsigned int pack_f16x2(float lo, float hi) {
        return (unsigned int)f32_to_f16(lo) | ((unsigned int)f32_to_f16(hi) << 16);
    }
    __device__ __forceinline__ void mma_16816(float* c, const unsigned int* a, unsigned int b0, unsigned int b1) {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
    __device__ __forceinline__ void ldmatrix_x4(unsigned int& r0, unsigned int& r1, unsigned int& r2, unsigned int& r3, const void* smem_row) {
        const unsigned int a = (unsigned int)__cvta_generic_to_shared(smem_row);
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];" : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(a));
    }
    __device__ __forceinline__ void ldmatrix_x4_trans(unsigned int& r0, unsigned int& r1, unsigned int& r2, unsigned int& r3, const void* smem_row) {
        const unsigned int a = (unsigned int)__cvta_generic_to_shared(smem_row);
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];" : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(a));
    }
    // 16-byte global -> shared copies that do not pass through registers (sm_80+), so that the next
    // tile's loads run while this one is computed.
    __device__ __forceinline__ void cp_async16(void* smem, const void* gmem) {
        const unsigned int a = (unsigned int)__cvta_generic_to_shared(smem);
        asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" :: "r"(a), "l"(gmem) : "memory");
    }
    __device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
    __device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_all;" ::: "memory"); }
    """#
}
