# plots/alloc_bars.gp — speed relative to glibc (top) and peak RSS (bottom)
# per workload and allocator, from bench/peers/allocbench.py's data files.
#
#   gnuplot -c plots/alloc_bars.gp DATADIR [OUT.png]
#
# Reads DATADIR/bars_tput.dat and DATADIR/bars_rss.dat: a header line
# "label <allocator>...", then one row per workload/threads (or program)
# with one column per allocator; "?" marks a missing value. Speed is the
# median throughput divided by glibc's for the workloads and glibc's median
# wall time divided by the allocator's for the real programs, so higher is
# better in both. This script only reads those files.

dir = (ARGC >= 1) ? ARG1 : "out/alloc"
out = (ARGC >= 2) ? ARG2 : dir . "/alloc_bars.png"
tput = dir . "/bars_tput.dat"
rss = dir . "/bars_rss.dat"

# Debian's gnuplot-nox has pngcairo; the libgd png terminal is the fallback.
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
  set terminal pngcairo size 1500,1100 font "Sans,10" noenhanced
} else {
  set terminal png size 1500,1100 noenhanced
}
set output out

set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -30 scale 0 nomirror
set key outside right top vertical
set grid ytics
set lmargin 12
set rmargin 16

set multiplot layout 2,1 title "Allocators under LD_PRELOAD (medians)"

set title "Speed relative to glibc (higher is better; dashed line = glibc)"
set ylabel "× glibc"
set yrange [0:*]
plot for [i=2:*] tput using i:xtic(1) title columnheader(i), \
     1 with lines dt 2 lc "black" notitle

set title "Peak RSS (lower is better; log scale)"
set ylabel "MiB"
set logscale y
set yrange [*:*]
plot for [i=2:*] rss using i:xtic(1) title columnheader(i)

unset multiplot
