/* LUT2 / LUT4 / LUT8: k-bit codes into one table of at most 2^k values per matrix (k = 2, 4,
 * 8): the dense k-bit weight grids of DoReFa-Net, PACT and LSQ, whose values are a layer's few
 * levels rather than a sign, a power of two or an int8 multiple of a row scale. Codes are
 * packed 64 to a block of k words, code i of a block at bits (i k) mod 64 of word (i k) / 64.
 *
 * The stored form is the size; the compute is fp32: prepare() decodes the table once into a
 * dense F32 matrix and the GEMM is F32's (no k-bit x k-bit kernel is written), so a LUT layer
 * runs at the fp32 path's speed and computes what an F32 layer of the same values computes. */
#include "deploy/format_impl.h"
#include "deploy/simd.h"
#include <math.h>
#include <stdlib.h>


static size_t bytes_for(dp_format f, int rows, int cols)
{
    const int k = dp_lut_bits(f);
    return sizeof(dp_head_lut) + ((size_t)1 << k) * sizeof(float) + (size_t)rows * dp_words(cols) * k * sizeof(uint64_t);
}
size_t dp_lut2_bytes(int rows, int cols, size_t nnz) { (void)nnz; return bytes_for(DP_FORMAT_LUT2, rows, cols); }
size_t dp_lut4_bytes(int rows, int cols, size_t nnz) { (void)nnz; return bytes_for(DP_FORMAT_LUT4, rows, cols); }
size_t dp_lut8_bytes(int rows, int cols, size_t nnz) { (void)nnz; return bytes_for(DP_FORMAT_LUT8, rows, cols); }

static void set_code(dp_matrix *m, int r, int c, unsigned code)
{
    const int k = dp_lut_bits(m->format);
    uint64_t *blk = dp_lut_codes(m) + ((size_t)r * dp_matrix_words(m) + c / 64) * k;
    const int bit = (c % 64) * k;
    blk[bit / 64] |= (uint64_t)code << (bit % 64);
}

static int cmp_float(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Sorted distinct values of v[0..n) into out (capacity n); their count. -0 counts as 0. */
static size_t distinct(const float *v, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++) out[i] = v[i] == 0 ? 0.0f : v[i];
    qsort(out, n, sizeof *out, cmp_float);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || out[i] != out[k - 1]) out[k++] = out[i];
    return k;
}

/* Index of the table value nearest v (ties to the lower). */
static unsigned nearest(const float *t, int levels, float v)
{
    int lo = 0, hi = levels - 1;
    while (lo < hi) {   /* first entry >= v */
        const int mid = (lo + hi) / 2;
        if (t[mid] < v) lo = mid + 1; else hi = mid;
    }
    if (lo > 0 && (double)v - t[lo - 1] <= (double)t[lo] - v) lo--;
    return (unsigned)lo;
}

/* The table is w's distinct values when there are at most 2^k of them (lossless); otherwise w
 * goes to the nearest of 2^k evenly spaced levels from its min to its max, and the table keeps
 * only the levels used, so packing the unpacked weights again gives the same bytes. */
int dp_lut_pack(dp_matrix *m, const float *w, char *err, size_t errlen)
{
    const int k = dp_lut_bits(m->format), cap = 1 << k;
    const size_t n = (size_t)m->rows * m->cols, bad = dp_first_nonfinite(w, n);
    if (bad < n) return dp_fail(err, errlen, "%s: weight [%zu][%zu] is not finite", dp_format_name(m->format),
                                bad / m->cols, bad % m->cols);
    float *vals = malloc((n ? n : 1) * sizeof *vals), *grid = malloc((size_t)cap * sizeof *grid);
    if (!vals || !grid) { free(vals); free(grid); return dp_fail(err, errlen, "%s: out of memory", dp_format_name(m->format)); }
    size_t levels = distinct(w, n, vals);
    const float *t = vals;
    int rc = 0;
    if (levels > (size_t)cap) {   /* nearest of an even grid, then only the levels in use */
        const double lo = vals[0], step = ((double)vals[levels - 1] - lo) / (cap - 1);
        for (int i = 0; i < cap; i++) grid[i] = (float)(lo + step * i);
        size_t g = distinct(grid, (size_t)cap, grid);
        for (size_t i = 0; i < n; i++) vals[i] = grid[nearest(grid, (int)g, w[i])];
        levels = distinct(vals, n, vals);
    }
    if (n == 0) { vals[0] = 0.0f; levels = 1; }
    if (dp_alloc_payload(m, n, err, errlen) != 0) { rc = -1; goto done; }
    dp_lut_head(m)->levels = (int32_t)levels;
    memcpy(dp_lut_table(m), t, levels * sizeof *t);
    for (int r = 0; r < m->rows; r++)
        for (int c = 0; c < m->cols; c++) {
            const float v = w[(size_t)r * m->cols + c];
            set_code(m, r, c, nearest(t, (int)levels, v == 0 ? 0.0f : v));
        }
done:
    free(vals);
    free(grid);
    return rc;
}

void dp_lut_unpack(const dp_matrix *m, float *w)
{
    const float *t = dp_lut_table(m);
    for (int r = 0; r < m->rows; r++)
        for (int c = 0; c < m->cols; c++) w[(size_t)r * m->cols + c] = t[dp_lut_code(m, r, c)];
}

int dp_lut_check(const dp_matrix *m, char *err, size_t errlen)
{
    const char *name = dp_format_name(m->format);
    const int k = dp_lut_bits(m->format), cap = 1 << k;
    const dp_head_lut *h = dp_lut_head(m);
    const float *t = dp_lut_table(m);
    if (h->levels < 1 || h->levels > cap)
        return dp_fail(err, errlen, "%s: %d table levels (allowed 1..%d)", name, (int)h->levels, cap);
    if (h->pad != 0) return dp_fail(err, errlen, "%s: head padding is not zero", name);
    for (int i = 0; i < h->levels; i++) {
        if (!isfinite(t[i])) return dp_fail(err, errlen, "%s: table[%d] is not finite", name, i);
        if (i > 0 && !(t[i] > t[i - 1]))
            return dp_fail(err, errlen, "%s: table[%d] = %g does not ascend from table[%d] = %g", name, i, t[i], i - 1,
                           t[i - 1]);
    }
    for (int i = h->levels; i < cap; i++) {
        uint32_t b;
        memcpy(&b, &t[i], sizeof b);
        if (b) return dp_fail(err, errlen, "%s: unused table[%d] is not zero", name, i);
    }
    const int kw = dp_matrix_words(m);
    for (int r = 0; r < m->rows; r++) {
        for (int c = 0; c < m->cols; c++)
            if ((int)dp_lut_code(m, r, c) >= h->levels)
                return dp_fail(err, errlen, "%s: code of weight [%d][%d] is %u, past the table's %d levels", name, r, c,
                               dp_lut_code(m, r, c), (int)h->levels);
        for (int c = m->cols; c < 64 * kw; c++)
            if (dp_lut_code(m, r, c))
                return dp_fail(err, errlen, "%s: row %d has code bits past its last column", name, r);
    }
    return 0;
}

/* The kernel-ready form: the decoded weights as an F32 matrix. */
int dp_lut_prepare(dp_matrix *m, char *err, size_t errlen)
{
    const size_t n = (size_t)m->rows * m->cols;
    dp_matrix *f = calloc(1, sizeof *f);
    float *w = malloc((n ? n : 1) * sizeof *w);
    if (!f || !w) { free(f); free(w); return dp_fail(err, errlen, "%s: out of memory for the kernel plan", dp_format_name(m->format)); }
    dp_lut_unpack(m, w);
    const int rc = dp_matrix_pack(f, DP_FORMAT_F32, m->rows, m->cols, w, err, errlen);
    free(w);
    if (rc != 0) { free(f); return -1; }
    dp_lut_release(m->plan);
    m->plan = f;
    return 0;
}

void dp_lut_release(void *plan)
{
    if (!plan) return;
    dp_matrix_free(plan);
    free(plan);
}

void dp_lut_gemm(const dp_matrix *w, int n, const float *x, size_t ldx, float *y, size_t ldy, const dp_exec *ex)
{
    DP_ASSERT(dp_lut_bits(w->format) && w->plan);
    dp_f32_gemm(w->plan, n, x, ldx, y, ldy, ex);
}
