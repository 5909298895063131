/* Softmax cross-entropy over logits, stabilised by subtracting each row's maximum. */
#include "nn/loss.h"
#include <assert.h>
#include <math.h>
#include <stddef.h>

int nn_argmax(const float *v, int n)
{
    assert(n > 0);
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;      /* first maximum wins ties */
    return best;
}

float nn_softmax_xent(const float *logits, const uint8_t *labels, int batch, int n_classes,
                      float *dlogits, int *correct)
{
    assert(batch > 0 && n_classes > 0);
    double loss = 0.0;
    int hits = 0;
    const float inv_b = 1.0f / (float)batch;
    for (int s = 0; s < batch; s++) {
        const float *z = logits + (size_t)s * n_classes;
        int y = labels[s];
        assert(y < n_classes);
        int top = nn_argmax(z, n_classes);
        hits += top == y;
        double zmax = z[top], sum = 0.0;
        for (int c = 0; c < n_classes; c++) sum += exp((double)z[c] - zmax);
        double log_sum = log(sum);
        loss += log_sum - ((double)z[y] - zmax);    /* -log softmax(z)_y */
        if (!dlogits) continue;
        float *d = dlogits + (size_t)s * n_classes;
        for (int c = 0; c < n_classes; c++) {
            float prob = (float)exp((double)z[c] - zmax - log_sum);
            d[c] = (prob - (c == y ? 1.0f : 0.0f)) * inv_b;
        }
    }
    if (correct) *correct = hits;
    return (float)(loss / batch);
}
