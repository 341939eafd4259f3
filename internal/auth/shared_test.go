package auth_test

import (
	"context"
	"sync"
	"testing"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/auth/registrytest"
)

// memDocuments are shared documents in memory: what a database gives
// several nodes.
type memDocuments struct {
	mu   sync.Mutex
	docs map[string]memDocument
}

type memDocument struct {
	data    []byte
	version int64
}

func (m *memDocuments) LoadDocument(_ context.Context, name string) ([]byte, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.docs[name]
	if !ok {
		return nil, 0, auth.ErrNoDocument
	}
	return d.data, d.version, nil
}

func (m *memDocuments) SaveDocument(_ context.Context, name string, doc []byte, version int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.docs[name].version != version {
		return auth.ErrStaleDocument
	}
	m.docs[name] = memDocument{data: doc, version: version + 1}
	return nil
}

func openShared(t *testing.T, docs auth.Documents) *auth.Directory {
	t.Helper()
	d, _, err := auth.OpenSharedDirectory(context.Background(), docs)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSharedDirectoryIsARegistry(t *testing.T) {
	registrytest.Run(t, func(t *testing.T) auth.Registry {
		return openShared(t, &memDocuments{docs: map[string]memDocument{}})
	})
	registrytest.RunShared(t, func(t *testing.T) (auth.Registry, auth.Registry) {
		docs := &memDocuments{docs: map[string]memDocument{}}
		return openShared(t, docs), openShared(t, docs)
	})
}

// TestSharedDirectoryCreatedOnce: nodes opening a new shared directory at
// once end up with one tenant, one dev application and one admin secret.
func TestSharedDirectoryCreatedOnce(t *testing.T) {
	docs := &memDocuments{docs: map[string]memDocument{}}
	dirs := make([]*auth.Directory, 6)
	created := make([]bool, len(dirs))
	var wg sync.WaitGroup
	for i := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, opened, err := auth.OpenSharedDirectory(context.Background(), docs)
			if err != nil {
				t.Error(err)
				return
			}
			dirs[i], created[i] = d, opened.Created
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	creators := 0
	for i, d := range dirs {
		if created[i] {
			creators++
		}
		if d.TenantID() != dirs[0].TenantID() || d.AdminSecret() != dirs[0].AdminSecret() || d.DefaultApplication().Secret != dirs[0].DefaultApplication().Secret {
			t.Fatalf("node %d opened another directory", i)
		}
	}
	if creators != 1 {
		t.Fatalf("%d nodes say they created the directory, want 1", creators)
	}
}

func TestSharedKeys(t *testing.T) {
	docs := &memDocuments{docs: map[string]memDocument{}}
	ctx := context.Background()
	a, err := auth.LoadOrCreateSharedKey(ctx, docs, auth.GraphKeyDocument)
	if err != nil {
		t.Fatal(err)
	}
	b, err := auth.LoadOrCreateSharedKey(ctx, docs, auth.GraphKeyDocument)
	if err != nil {
		t.Fatal(err)
	}
	other, err := auth.LoadOrCreateSharedKey(ctx, docs, auth.CallbackKeyDocument)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID || !a.Private.Equal(b.Private) {
		t.Fatal("two nodes got two graph signing keys")
	}
	if other.ID == a.ID {
		t.Fatal("the callback key is the graph key")
	}
}
