/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bitmaps of the collector core: one bit per object of a span (allocated,
 * marked).  Bit @nr lives in word @nr / BITS_PER_LONG at bit position
 * @nr % BITS_PER_LONG, the kernel's layout, so these maps can be handed to
 * <linux/bitmap.h> functions too.
 *
 * Written once for both builds, on the word operations of port.h, so the
 * hosted tests exercise the code the module runs.  All but
 * gch_bitmap_test_and_set_atomic() are plain, non-atomic accesses: the
 * caller serialises them (the heap lock, or a span claimed by one sweeper).
 * Bits past @nbits in the last word are kept zero by the core; readers
 * below ignore them anyway.
 */
#ifndef _GCHEAP_CORE_BITMAP_H
#define _GCHEAP_CORE_BITMAP_H

#include "port.h"

#define GCH_BIT_WORD(nr)	((nr) / BITS_PER_LONG)
#define GCH_BIT_MASK(nr)	(1UL << ((nr) % BITS_PER_LONG))

/**
 * gch_bitmap_bytes() - bytes of a bitmap of @nbits bits
 * @nbits: bits.
 *
 * Return: the size, a whole number of unsigned longs.
 */
static inline size_t gch_bitmap_bytes(unsigned int nbits)
{
	return BITS_TO_LONGS(nbits) * sizeof(unsigned long);
}

/**
 * gch_bitmap_set() - set bit @nr (not atomic)
 * @map: the bitmap.
 * @nr:  the bit.
 */
static inline void gch_bitmap_set(unsigned long *map, unsigned int nr)
{
	map[GCH_BIT_WORD(nr)] |= GCH_BIT_MASK(nr);
}

/**
 * gch_bitmap_clear() - clear bit @nr (not atomic)
 * @map: the bitmap.
 * @nr:  the bit.
 */
static inline void gch_bitmap_clear(unsigned long *map, unsigned int nr)
{
	map[GCH_BIT_WORD(nr)] &= ~GCH_BIT_MASK(nr);
}

/**
 * gch_bitmap_test() - is bit @nr set?
 * @map: the bitmap.
 * @nr:  the bit.
 *
 * Return: true if set.
 */
static inline bool gch_bitmap_test(const unsigned long *map, unsigned int nr)
{
	return map[GCH_BIT_WORD(nr)] & GCH_BIT_MASK(nr);
}

/**
 * gch_bitmap_test_and_set_atomic() - set bit @nr atomically
 * @map: the bitmap.
 * @nr:  the bit.
 *
 * For bits that several threads set at once (mark bits during a parallel
 * mark).  Fully ordered, as the kernel's test_and_set_bit().
 *
 * Return: the bit's previous value: false means this caller set it.
 */
static inline bool gch_bitmap_test_and_set_atomic(unsigned long *map,
						  unsigned int nr)
{
	return test_and_set_bit(nr, map);
}

/**
 * gch_bitmap_fill() - set bits 0 .. @nbits - 1, leave the rest of the
 * last word clear
 * @map:   the bitmap.
 * @nbits: bits to set.
 */
static inline void gch_bitmap_fill(unsigned long *map, unsigned int nbits)
{
	unsigned int full = nbits / BITS_PER_LONG;
	unsigned int rem = nbits % BITS_PER_LONG, i;

	for (i = 0; i < full; i++)
		map[i] = ~0UL;
	if (rem)
		map[full] = (1UL << rem) - 1;
}

/**
 * gch_bitmap_zero() - clear bits [0, @nbits), whole words
 * @map:   the bitmap.
 * @nbits: its size in bits.
 */
static inline void gch_bitmap_zero(unsigned long *map, unsigned int nbits)
{
	memset(map, 0, gch_bitmap_bytes(nbits));
}

/* The first index >= @start whose bit in (@map ^ @invert) is set. */
static inline unsigned int gch_bitmap_find_next(const unsigned long *map,
						unsigned int nbits,
						unsigned int start,
						unsigned long invert)
{
	unsigned int i, nwords;
	unsigned long w;

	if (start >= nbits)
		return nbits;
	nwords = BITS_TO_LONGS(nbits);
	i = GCH_BIT_WORD(start);
	/* drop the bits below @start in the first word */
	w = (map[i] ^ invert) & (~0UL << (start % BITS_PER_LONG));
	while (!w) {
		if (++i == nwords)
			return nbits;
		w = map[i] ^ invert;
	}
	/* a hit in the last word's unused bits means none */
	return min_t(unsigned int, i * BITS_PER_LONG + __ffs(w), nbits);
}

/**
 * gch_bitmap_find_next_zero() - the first clear bit at or after @start
 * @map:   the bitmap.
 * @nbits: its size in bits.
 * @start: where to begin.
 *
 * Return: the bit's index, or @nbits if bits [@start, @nbits) are all set
 * (also when @start >= @nbits).
 */
static inline unsigned int gch_bitmap_find_next_zero(const unsigned long *map,
						     unsigned int nbits,
						     unsigned int start)
{
	return gch_bitmap_find_next(map, nbits, start, ~0UL);
}

/**
 * gch_bitmap_find_next_set() - the first set bit at or after @start
 * @map:   the bitmap.
 * @nbits: its size in bits.
 * @start: where to begin.
 *
 * Return: the bit's index, or @nbits if none is set in [@start, @nbits).
 */
static inline unsigned int gch_bitmap_find_next_set(const unsigned long *map,
						    unsigned int nbits,
						    unsigned int start)
{
	return gch_bitmap_find_next(map, nbits, start, 0);
}

/**
 * gch_bitmap_weight() - count the set bits among [0, @nbits)
 * @map:   the bitmap.
 * @nbits: its size in bits.
 *
 * Return: the number of set bits; bits past @nbits do not count.
 */
static inline unsigned int gch_bitmap_weight(const unsigned long *map,
					     unsigned int nbits)
{
	unsigned int i, n = 0, full = nbits / BITS_PER_LONG;

	for (i = 0; i < full; i++)
		n += hweight_long(map[i]);
	if (nbits % BITS_PER_LONG)
		n += hweight_long(map[i] & (GCH_BIT_MASK(nbits) - 1));
	return n;
}

#endif /* _GCHEAP_CORE_BITMAP_H */
