package mongodb

import (
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/expertsurvey/expertsurvey/round"
)

// DefaultCacheBytes is the sheet cache's budget when none is configured: with the rest of the
// process (some 60 MB at rest, plus requests in flight) it keeps a pod under a 512 MiB limit.
const DefaultCacheBytes = 128 << 20

// sheetCache keeps, per sheet, the newest state this process has seen and the position of the
// stored projection, least recently used first out when the states' estimated size passes the
// budget. It is a projection like the stored one, only nearer: reads still probe the log
// position after it, so writes by other instances are seen at once, and a write that lost the
// race for a position re-reads the log.
//
// Cached sheets are never changed: a writer applies its change to a clone (which shares all
// but the changed chunk of answers) and puts the clone back.
type sheetCache struct {
	mu     sync.Mutex
	lru    *simplelru.LRU[string, cachedSheet]
	budget int64
	bytes  int64
	stats  CacheStats
}

type cachedSheet struct {
	sheet  *round.Sheet
	stored int64 // log position of the stored projection, as far as this process knows
	size   int64
}

// CacheStats are the sheet cache's counters, exported as metrics.
type CacheStats struct {
	Hits, Misses, Evictions int64
	Bytes, Budget           int64
	Entries                 int
}

func newSheetCache(budget int64) *sheetCache {
	if budget <= 0 {
		budget = DefaultCacheBytes
	}
	c := &sheetCache{budget: budget}
	// The entry count is bounded by bytes, not by this number; it only has to be larger than
	// any budget can hold.
	c.lru, _ = simplelru.NewLRU[string, cachedSheet](1<<30, func(_ string, e cachedSheet) {
		c.bytes -= e.size
	})
	return c
}

// get returns the cached sheet (nil when absent) and the stored projection's position. The
// sheet is shared: clone it before applying a change.
func (c *sheetCache) get(id string) (*round.Sheet, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Get(id)
	if !ok {
		c.stats.Misses++
		return nil, 0
	}
	c.stats.Hits++
	return e.sheet, e.stored
}

// peek is get without counting or refreshing: a writer that lost a race looks whether this
// process already knows the winner's entry.
func (c *sheetCache) peek(id string) *round.Sheet {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, _ := c.lru.Peek(id)
	return e.sheet
}

// put keeps sh (which must not be changed afterwards) unless a newer state is cached; stored < 0
// keeps the known projection position.
func (c *sheetCache) put(sh *round.Sheet, stored int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := sh.ID()
	old, ok := c.lru.Peek(id)
	if ok {
		stored = max(stored, old.stored)
		if old.sheet.Seq > sh.Seq {
			old.stored = stored
			c.lru.Add(id, old)
			return
		}
	}
	e := cachedSheet{sheet: sh, stored: stored, size: sh.SizeBytes() + int64(len(id))}
	if e.size > c.budget/4 {
		// One sheet larger than a quarter of the budget would flush everything else; it is
		// served from the store instead.
		if ok {
			c.lru.Remove(id)
		}
		return
	}
	if ok {
		c.bytes -= old.size // Add replaces without calling the eviction callback
	}
	c.lru.Add(id, e)
	c.bytes += e.size
	for c.bytes > c.budget {
		if _, _, ok := c.lru.RemoveOldest(); !ok {
			break
		}
		c.stats.Evictions++
	}
}

// stored returns the known position of the stored projection.
func (c *sheetCache) storedAt(id string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, _ := c.lru.Peek(id)
	return e.stored
}

func (c *sheetCache) snapshot() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Bytes, s.Budget, s.Entries = c.bytes, c.budget, c.lru.Len()
	return s
}
