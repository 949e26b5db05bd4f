/* A plain parallel store of a pattern: what memory bandwidth allows, measured the way the
 * fills store (the same threads, the same streaming stores), for `fastinit bench`'s limit. */
#include <string.h>
#if defined(__SSE2__)
#include <immintrin.h>
#endif
#include "fill.h"
#include "dispatch.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#define FI_STORE_CHUNK 4096

static void store_range(char *dst, int64_t n, const char *src, int nontemporal,
                        const fi_kernel_table *kt)
{
    for (int64_t off = 0; off < n; off += FI_STORE_CHUNK) {
        int64_t len = n - off < FI_STORE_CHUNK ? n - off : FI_STORE_CHUNK;
        if (nontemporal) kt->stream_copy(dst + off, src, len);
        else memcpy(dst + off, src, (size_t)len);
    }
#if defined(__SSE2__)
    if (nontemporal) _mm_sfence();
#endif
}

int fi_store_fill(char *dst, int64_t nbytes, uint64_t pattern, int nthreads, int nontemporal)
{
    if (!dst || nbytes < 0) return -1;
    char src[FI_STORE_CHUNK] __attribute__((aligned(64)));
    for (int i = 0; i < FI_STORE_CHUNK; i += 8) memcpy(src + i, &pattern, 8);
    const fi_kernel_table *kt = fi_kernels();
    int nt = nthreads < 1 ? 1 : nthreads;
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = omp_get_thread_num(), n = omp_get_num_threads();
        /* shares on 64-byte boundaries, so that no cache line is written by two threads */
        int64_t lines = nbytes / 64;
        int64_t a = lines * t / n * 64, b = t == n - 1 ? nbytes : lines * (t + 1) / n * 64;
        store_range(dst + a, b - a, src, nontemporal, kt);
    }
#else
    (void)nt;
    store_range(dst, nbytes, src, nontemporal, kt);
#endif
    return 0;
}
