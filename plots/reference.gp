# Published accuracy change vs compression, straight from results/reference.csv (no runs needed).
# Usage (from the repository root):
#   gnuplot plots/reference.gp
#   gnuplot -e "ref='results/reference.csv'; out='plots/out/reference.png'" plots/reference.gp
# Columns used: 1 method, 2 arch, 3 dataset, 9 delta, 10 compression, 11 compression_of, 12 confirmed.
# Rows whose compression counts FLOPs (compression_of = flops) or that report no delta are left out;
# open points are unconfirmed or secondary numbers.
if (!exists("ref")) ref = "results/reference.csv"
if (!exists("out")) out = "plots/out/reference.png"
system("mkdir -p " . system("dirname '" . out . "'"))
reset
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1100,720 font ",11"
} else {
    set terminal png size 1100,720
}
set output out
set datafile separator ","
set title "Published top-1 change vs compression (results/reference.csv)" noenhanced
set xlabel "compression × (size, 32/weight bits or 1/Pm; log scale)" noenhanced
set ylabel "Δ top-1 vs the paper's own baseline (percentage points)" noenhanced
set logscale x 2
set xrange [0.8:128]
set grid
set key below box noenhanced
set bmargin 6
set xzeroaxis lt -1
usable(x) = (strcol(11) ne "flops" && strcol(9) ne "" && strcol(10) ne "") ? x : NaN
confirmed(x) = strcol(12) eq "yes" ? x : NaN
unconfirmed(x) = strcol(12) ne "yes" ? x : NaN
plot ref skip 1 using (usable(confirmed($10))):9 with points pt 7 ps 1.3 lc rgb "#1f4e79" title "confirmed", \
     ref skip 1 using (usable(unconfirmed($10))):9 with points pt 6 ps 1.5 lw 2 lc rgb "#b22222" title "unconfirmed / secondary", \
     ref skip 1 using (usable($10)):9:(sprintf("%s %s", strcol(1), strcol(2))) with labels left offset 0.8,0 font ",8" noenhanced notitle
