/* CSR16 / CSR32: compressed sparse rows for pruned layers (magnitude pruning, Lottery
 * tickets): row pointers, then the nonzero values, then their column indices, 16 or 32 bits. */
#include "deploy/format_impl.h"
#include "deploy/simd.h"
#include <math.h>

static size_t index_bytes(dp_format f) { return f == DP_FORMAT_CSR16 ? 2 : 4; }

static size_t bytes_for(dp_format f, int rows, size_t nnz)
{
    return ((size_t)rows + 1) * sizeof(uint32_t) + nnz * (sizeof(float) + index_bytes(f));
}
size_t dp_csr16_bytes(int rows, int cols, size_t nnz) { (void)cols; return bytes_for(DP_FORMAT_CSR16, rows, nnz); }
size_t dp_csr32_bytes(int rows, int cols, size_t nnz) { (void)cols; return bytes_for(DP_FORMAT_CSR32, rows, nnz); }

static uint32_t col_at(const dp_matrix *m, size_t e)
{
    return m->format == DP_FORMAT_CSR16 ? ((const uint16_t *)dp_csr_col(m))[e]
                                        : ((const uint32_t *)dp_csr_col(m))[e];
}

/* Every weight != 0 is stored (-0 and +0 are not), in column order. Lossless. */
int dp_csr_pack(dp_matrix *m, const float *w, char *err, size_t errlen)
{
    const size_t n = (size_t)m->rows * m->cols;
    size_t nnz = 0;
    for (size_t i = 0; i < n; i++) nnz += w[i] != 0;
    if (nnz > UINT32_MAX) return dp_fail(err, errlen, "%s: %zu nonzeros exceed 2^32", dp_format_name(m->format), nnz);
    if (dp_alloc_payload(m, nnz, err, errlen) != 0) return -1;
    uint32_t *rowptr = dp_csr_rowptr(m);
    float *val = dp_csr_val(m);
    size_t e = 0;
    for (int r = 0; r < m->rows; r++) {
        rowptr[r] = (uint32_t)e;
        for (int c = 0; c < m->cols; c++) {
            const float v = w[(size_t)r * m->cols + c];
            if (v == 0) continue;
            val[e] = v;
            if (m->format == DP_FORMAT_CSR16) ((uint16_t *)dp_csr_col(m))[e] = (uint16_t)c;
            else ((uint32_t *)dp_csr_col(m))[e] = (uint32_t)c;
            e++;
        }
    }
    rowptr[m->rows] = (uint32_t)e;
    return 0;
}

void dp_csr_unpack(const dp_matrix *m, float *w)
{
    memset(w, 0, (size_t)m->rows * m->cols * sizeof *w);
    const uint32_t *rowptr = dp_csr_rowptr(m);
    const float *val = dp_csr_val(m);
    for (int r = 0; r < m->rows; r++)
        for (uint32_t e = rowptr[r]; e < rowptr[r + 1]; e++) w[(size_t)r * m->cols + col_at(m, e)] = val[e];
}

int dp_csr_check(const dp_matrix *m, char *err, size_t errlen)
{
    const char *name = dp_format_name(m->format);
    const uint32_t *rowptr = dp_csr_rowptr(m);
    const float *val = dp_csr_val(m);
    if (rowptr[0] != 0 || rowptr[m->rows] != m->nnz)
        return dp_fail(err, errlen, "%s: row pointers run %u..%u, not 0..nnz = %zu", name,
                       rowptr[0], rowptr[m->rows], m->nnz);
    for (int r = 0; r < m->rows; r++)   /* all pointers first: entries are read below */
        if (rowptr[r + 1] < rowptr[r] || rowptr[r + 1] > m->nnz || rowptr[r + 1] - rowptr[r] > (uint32_t)m->cols)
            return dp_fail(err, errlen, "%s: row %d spans entries %u..%u", name, r, rowptr[r], rowptr[r + 1]);
    for (int r = 0; r < m->rows; r++) {
        for (uint32_t e = rowptr[r]; e < rowptr[r + 1]; e++) {
            const uint32_t c = col_at(m, e);
            if (c >= (uint32_t)m->cols || (e > rowptr[r] && c <= col_at(m, e - 1)))
                return dp_fail(err, errlen, "%s: row %d, entry %u: column %u out of order or "
                               "past %d columns", name, r, e, c, m->cols);
            if (!isfinite(val[e]))
                return dp_fail(err, errlen, "%s: row %d, column %u: value is not finite", name, r, c);
        }
    }
    return 0;
}
