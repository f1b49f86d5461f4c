"""Writes a copy of ../shared/bench/echoload.c that also prints, on stderr at the end, how many
round trips the least-served, the 10th-percentile and the median connection completed:

    served min=N p10=N median=N

A server that starves some clients shows a fine p99 over the clients it does serve (a starved
client adds no samples); this line shows the starvation. The shared file is left untouched.

    python3 bench/echoload_served.py ../shared/bench/echoload.c /tmp/echoload_served.c
"""
import sys

source, target = sys.argv[1], sys.argv[2]
s = open(source).read()
patches = [
    ("uint64_t t_start;", "uint64_t t_start; uint64_t nrounds;"),
    ("record(t - c->t_start);\n                c->t_start = t;",
     "record(t - c->t_start); c->nrounds++;\n                c->t_start = t;"),
    ("    double el = (now_ns() - t0) / 1e9;\n",
     "    double el = (now_ns() - t0) / 1e9;\n"
     "    {\n"
     "        uint64_t *r = calloc(nconn, sizeof *r);\n"
     "        for (int i = 0; i < nconn; i++) r[i] = cs[i].nrounds;\n"
     "        for (int i = 1; i < nconn; i++) { uint64_t v = r[i]; int j = i; while (j > 0 && r[j - 1] > v) { r[j] = r[j - 1]; j--; } r[j] = v; }\n"
     "        fprintf(stderr, \"served min=%llu p10=%llu median=%llu\\n\", (unsigned long long)r[0],\n"
     "                (unsigned long long)r[nconn / 10], (unsigned long long)r[nconn / 2]);\n"
     "    }\n"),
]
for old, new in patches:
    if old not in s:
        sys.exit(f"echoload.c has changed; update {sys.argv[0]}: cannot find {old!r}")
    s = s.replace(old, new, 1)
open(target, "w").write(s)
