# plots/pauses.gp — cumulative distribution of stop-the-world pauses
# (per GC cycle, both pauses of a cycle summed, as Go's PauseNs), one
# curve per configuration, all repetitions pooled; log-x. Data is written
# by `heaplab plot pauses`:
#
#   dir/pausesI.tsv  pause_ms fraction   (sorted; I = 1..n)
#   titlefile        one title per line
if (!exists("dir")) dir = "."
if (!exists("n")) n = 1
if (!exists("out")) out = "pauses"
if (!exists("terms")) terms = "png svg"
title(i) = exists("titlefile") ? \
  system(sprintf("sed -n '%dp' '%s'", i, titlefile)) : sprintf("run %d", i)
data(i) = sprintf("%s/pauses%d.tsv", dir, i)

set datafile separator "\t"
set logscale x
set grid
set key bottom right
set xlabel "pause (ms)"
set ylabel "fraction of GC cycles with a pause <= x"
set yrange [0:1.02]

do for [term in terms] {
  if (term eq "png") {
    set terminal pngcairo size 1000,600 noenhanced
    set output out.".png"
  } else {
    set terminal svg size 1000,600 noenhanced
    set output out.".svg"
  }
  plot for [i=1:n] data(i) using 1:2 with steps lw 2 lc i title title(i)
  unset output
}
