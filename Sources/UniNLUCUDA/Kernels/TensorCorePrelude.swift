// Tensor-core building blocks shared by the attention kernels and the small-batch GEMM: FP16 pair
// packing, mma.sync m16n8k16 (FP16 operands, FP32 accumulators), ldmatrix, and cp.async copies.
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
    // The same, writing 16 zero bytes (and reading nothing) when `valid` is false: tiles past the
    // matrix edge.
    __device__ __forceinline__ void cp_async16_zfill(void* smem, const void* gmem, bool valid) {
        const unsigned int a = (unsigned int)__cvta_generic_to_shared(smem);
        asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" :: "r"(a), "l"(gmem), "r"(valid ? 16 : 0) : "memory");
    }
    // The same two copies and ldmatrix on a 32-bit shared-memory address (precomputed by loops that
    // issue many of them).
    __device__ __forceinline__ void cp_async16_zfill_s(unsigned int smem, const void* gmem, bool valid) {
        asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" :: "r"(smem), "l"(gmem), "r"(valid ? 16 : 0) : "memory");
    }
    __device__ __forceinline__ void ldmatrix_x4_s(unsigned int& r0, unsigned int& r1, unsigned int& r2, unsigned int& r3, unsigned int smem) {
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];" : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(smem));
    }
    __device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
    __device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_all;" ::: "memory"); }
    // This thread's cp.async groups, all but the newest N complete.
    template <int N> __device__ __forceinline__ void cp_async_wait_pending() { asm volatile("cp.async.wait_group %0;" :: "n"(N) : "memory"); }
    """#
}
