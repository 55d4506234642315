package mongodb

import "sync"

// keyLock serialises the writers of one key within this process, holding one mutex per key in
// use and none for keys nobody is writing. Two saves to the same sheet on one instance would
// otherwise both decide on the same state and race for the same log position, and the loser
// would read the winner's entry back from the store; in turn, the second decides on the state
// the first left in the cache. Writers on other instances still race, and the unique position
// still decides between them.
type keyLock struct {
	mu    sync.Mutex
	locks map[string]*refMutex
}

type refMutex struct {
	sync.Mutex
	refs int
}

// lock takes key's mutex and returns the function that releases it.
func (k *keyLock) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*refMutex{}
	}
	m := k.locks[key]
	if m == nil {
		m = &refMutex{}
		k.locks[key] = m
	}
	m.refs++
	k.mu.Unlock()
	m.Lock()
	return func() {
		m.Unlock()
		k.mu.Lock()
		if m.refs--; m.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
