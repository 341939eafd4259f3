package cache_test

import (
	"path/filepath"
	"testing"

	"github.com/callplane/callplane/internal/store"
	"github.com/callplane/callplane/internal/store/cache"
	"github.com/callplane/callplane/internal/store/sqlite"
	"github.com/callplane/callplane/internal/store/storetest"
)

// TestConformance: the cache in front of SQLite is still a store.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(filepath.Join(t.TempDir(), "callplane.db"))
		if err != nil {
			t.Fatal(err)
		}
		return cache.New(s)
	})
}
