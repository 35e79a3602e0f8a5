"""Writes a demo RSA modulus shaped like the Infineon RSALib keys of CVE-2017-15361 (ROCA):
n = p*q with p, q = k*M + (65537^a mod M), M the primorial of the first 126 primes (the
generator's M for 2048-bit keys). Deterministic (seeded); prints p, q and n in hex."""
import random

def primes(count):
    out, c = [], 2
    while len(out) < count:
        if all(c % p for p in out if p * p <= c):
            out.append(c)
        c += 1
    return out

def is_probable_prime(n, rng):
    if n < 2:
        return False
    for p in primes(50):
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(40):
        a = rng.randrange(2, n - 2)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True

def roca_prime(rng, M, bits):
    while True:
        k = rng.randrange(1 << (bits - M.bit_length() - 1), 1 << (bits - M.bit_length()))
        a = rng.randrange(1, 1 << 20)
        p = k * M + pow(65537, a, M)
        if p.bit_length() == bits and is_probable_prime(p, rng):
            return p

rng = random.Random(15361)
M = 1
for p in primes(126):
    M *= p
p = roca_prime(rng, M, 1024)
q = roca_prime(rng, M, 1024)
n = p * q
print(f"p={p:x}\nq={q:x}\nn={n:x}")
