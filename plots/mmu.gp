# plots/mmu.gp — MMU curves (and worst-window percentile curves) on a
# log-x axis, from CSV files in the columns of `heaplab mmu --csv` (and
# scripts/go_mmu.sh): window_ns,window_s,mmu[,worst...%],file.
#
#   gnuplot -e "files='out/mmu/heaplab.csv out/mmu/go_mmu.csv'; \
#               titles='heaplab Go-1.19'; out='out/mmu/mmu'" plots/mmu.gp
#
# files: CSV files, one curve each (column mmu); titles: one word per
# file (default: the file names); titlefile: instead of titles, a file
# with one title per line (titles with spaces, as `heaplab plot mmu`
# writes); out: output path without extension; terms: "png", "svg" or
# both (default "png svg": writes OUT.png and OUT.svg); pct=1 adds each
# file's percentile columns as dashed curves of the same colour.
if (!exists("files")) files = "mmu.csv"
if (!exists("titles")) titles = files
if (!exists("out")) out = "mmu"
if (!exists("pct")) pct = 0
if (!exists("terms")) terms = "png svg"
title(i) = exists("titlefile") ? \
  system(sprintf("sed -n '%dp' '%s'", i, titlefile)) : word(titles, i)

set datafile separator ","
set logscale x
set xlabel "window"
set ylabel "mutator utilization"
set yrange [0:1.02]
set grid
set key bottom right
set format x "%.0s%cs"
set xtics nomirror

ncols(f) = int(system("head -1 '".f."' | awk -F, '{print NF}'"))
colname(f, c) = system("head -1 '".f."' | cut -d, -f".c)

do for [term in terms] {
  if (term eq "png") {
    set terminal pngcairo size 1000,600 noenhanced
    set output out.".png"
  } else {
    set terminal svg size 1000,600 noenhanced
    set output out.".svg"
  }
  # (an empty inner iteration would make gnuplot warn about a data file
  # with no points: the percentile curves get a plot command of their own)
  if (pct) {
    plot for [i=1:words(files)] word(files, i) using 2:3 with lines lw 2 \
           lc i title title(i), \
         for [i=1:words(files)] for [c=4:ncols(word(files, i)) - 1] \
           word(files, i) using 2:c with lines dt 2 lc i \
           title title(i)." ".colname(word(files, i), c)
  } else {
    plot for [i=1:words(files)] word(files, i) using 2:3 with lines lw 2 \
           lc i title title(i)
  }
  unset output
}
