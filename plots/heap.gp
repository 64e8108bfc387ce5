# plots/heap.gp — heap over time, one panel per configuration: heap live
# (bytes in allocated spans, what the pacer compares with its trigger),
# the heap goal and the process RSS, sampled every ~5 ms by `heaplab run`;
# the end of every GC cycle (its mark-termination pause) as a dotted
# vertical line. Data is written by `heaplab plot heap`:
#
#   dir/heapI.tsv  t_s rss_mib heap_live_mib heap_goal_mib   (I = 1..n)
#   dir/gcI.tsv    end_s top_mib  (one line per cycle, may be empty; the
#                  line is drawn from 0 to top_mib)
#   titlefile      one title per line
#
#   gnuplot -e "dir='/tmp/x'; n=3; titlefile='/tmp/x/titles'; out='heap'; \
#               terms='png'" plots/heap.gp
if (!exists("dir")) dir = "."
if (!exists("n")) n = 1
if (!exists("out")) out = "heap"
if (!exists("terms")) terms = "png svg"
title(i) = exists("titlefile") ? \
  system(sprintf("sed -n '%dp' '%s'", i, titlefile)) : sprintf("run %d", i)
heap(i) = sprintf("%s/heap%d.tsv", dir, i)
gcs(i) = sprintf("%s/gc%d.tsv", dir, i)
ngc(i) = int(system(sprintf("wc -l < '%s'", gcs(i))))

set datafile separator "\t"
set grid
set key top left
set ylabel "MiB"
height = 260 * n + 60

do for [term in terms] {
  if (term eq "png") {
    set terminal pngcairo size 1000,height noenhanced
    set output out.".png"
  } else {
    set terminal svg size 1000,height noenhanced
    set output out.".svg"
  }
  set multiplot layout n,1
  do for [i=1:n] {
    set title title(i)
    set xlabel (i == n ? "time (s)" : "")
    if (ngc(i) > 0) {
      plot heap(i) using 1:3 with lines lw 2 lc 1 title "heap live", \
           heap(i) using 1:4 with lines lw 1 dt 2 lc 2 title "heap goal", \
           heap(i) using 1:2 with lines lw 1 lc 3 title "RSS", \
           gcs(i) using 1:(0):(0):2 with vectors nohead dt 3 \
             lc rgb "#999999" title "GC cycle end"
    } else {
      plot heap(i) using 1:3 with lines lw 2 lc 1 title "heap live", \
           heap(i) using 1:4 with lines lw 1 dt 2 lc 2 title "heap goal", \
           heap(i) using 1:2 with lines lw 1 lc 3 title "RSS"
    }
  }
  unset multiplot
  unset output
}
