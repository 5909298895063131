/* Welch's unequal-variances t-test, written from the definitions:
 *   t  = (m1 - m2) / sqrt(s1²/n1 + s2²/n2)
 *   df = (s1²/n1 + s2²/n2)² / ((s1²/n1)²/(n1-1) + (s2²/n2)²/(n2-1))     (Welch–Satterthwaite)
 *   p  = P(|T_df| >= |t|) = I_{df/(df+t²)}(df/2, 1/2)                    (two-sided)
 * with I_x(a, b) the regularized incomplete beta function (continued fraction, as in Numerical
 * Recipes §6.4). s1, s2 are sample standard deviations (n-1 in the denominator). */
#ifndef HARNESS_WELCH_H
#define HARNESS_WELCH_H

typedef struct hx_welch { double t, df, p; } hx_welch;

/* NaN in every field when a side has fewer than 2 samples or both have zero spread (the test
 * says nothing then). */
hx_welch hx_welch_test(double mean1, double sd1, int n1, double mean2, double sd2, int n2);
/* Two-sided p of Student's t with df degrees of freedom (df > 0, not necessarily whole). */
double hx_student_t_p2(double t, double df);
/* I_x(a, b) for a, b > 0 and 0 <= x <= 1; NaN outside. */
double hx_betainc(double a, double b, double x);

#endif
