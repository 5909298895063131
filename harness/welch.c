/* Welch's t-test (see welch.h). */
#include "harness/welch.h"
#include <math.h>

/* The continued fraction of I_x(a, b) by the modified Lentz method; converges fast for
 * x < (a + 1) / (a + b + 2), which the caller arranges. */
static double beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-16;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 10000; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));   /* even step */
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));   /* odd step */
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < eps) break;
    }
    return h;
}

double hx_betainc(double a, double b, double x)
{
    if (!(a > 0) || !(b > 0) || !(x >= 0) || !(x <= 1)) return NAN;
    if (x == 0 || x == 1) return x;
    /* x^a (1-x)^b / (a B(a, b)), through logs so large a, b do not overflow */
    double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    if (x < (a + 1) / (a + b + 2)) return front * beta_cf(a, b, x) / a;
    return 1 - front * beta_cf(b, a, 1 - x) / b;   /* the symmetry I_x(a,b) = 1 - I_{1-x}(b,a) */
}

double hx_student_t_p2(double t, double df)
{
    if (!(df > 0) || isnan(t)) return NAN;
    if (isinf(t)) return 0;
    return hx_betainc(df / 2, 0.5, df / (df + t * t));
}

hx_welch hx_welch_test(double mean1, double sd1, int n1, double mean2, double sd2, int n2)
{
    hx_welch w = {NAN, NAN, NAN};
    if (n1 < 2 || n2 < 2) return w;
    double v1 = sd1 * sd1 / n1, v2 = sd2 * sd2 / n2;
    if (!(v1 + v2 > 0)) return w;
    w.t = (mean1 - mean2) / sqrt(v1 + v2);
    w.df = (v1 + v2) * (v1 + v2) / (v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1));
    w.p = hx_student_t_p2(w.t, w.df);
    return w;
}
