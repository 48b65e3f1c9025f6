# Writes sample-lengths.txt: 20,000 document lengths, one a line, as a tokenizer's statistics would list a data set:
# 97% chat and web documents (lognormal, median about 1,100 tokens) and 3% long documents (code files, books:
# 8k to 96k tokens). Python's own random with a fixed seed, so the file is the same on every machine.
import math
import random

rng = random.Random(2026)
with open("sample-lengths.txt", "w") as out:
    out.write("# tokens per document (make_sample.py)\n")
    for _ in range(20000):
        if rng.random() < 0.03:
            n = int(math.exp(rng.uniform(math.log(8192), math.log(98304))))
        else:
            n = int(rng.lognormvariate(math.log(1100), 1.0))
        out.write(f"{max(n, 16)}\n")
