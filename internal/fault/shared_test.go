package fault

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// memShared are shared rules in memory: what a database gives several
// nodes.
type memShared struct {
	mu    sync.Mutex
	rules []Rule
	next  int
}

func (m *memShared) LoadRules(context.Context) ([]Rule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Rule
	for _, r := range m.rules {
		if r.Times == 0 || r.Matched < r.Times {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memShared) AddRule(_ context.Context, r Rule) (Rule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	r.ID = fmt.Sprintf("fault-%d", m.next)
	m.rules = append(m.rules, r)
	return r, nil
}

func (m *memShared) RemoveRule(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.rules)
	m.rules = slices.DeleteFunc(m.rules, func(r Rule) bool { return r.ID == id })
	return len(m.rules) < n, nil
}

func (m *memShared) ClearRules(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rules = nil
	return nil
}

func (m *memShared) UseRule(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, r := range m.rules {
		if r.ID == id && (r.Times == 0 || r.Matched < r.Times) {
			m.rules[i].Matched++
			return true, nil
		}
	}
	return false, nil
}

// TestSharedSetCountsAcrossNodes: a rule added through one node acts on
// every node once they reload, and its times are counted across them.
func TestSharedSetCountsAcrossNodes(t *testing.T) {
	ctx := context.Background()
	shared := &memShared{}
	a, err := NewShared(ctx, shared)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewShared(ctx, shared)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse([]byte(`{"kind": "graph", "status": 503, "times": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	added, err := a.Add(r)
	if err != nil || added.ID != "fault-1" {
		t.Fatalf("Add = %+v, %v", added, err)
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	matched := 0
	for i := range 8 {
		node := a
		if i%2 == 1 {
			node = b
		}
		if _, ok := node.GraphRequest(Request{Method: "POST", Path: "/communications/calls"}); ok {
			matched++
		}
	}
	if matched != 3 {
		t.Fatalf("a rule of 3 times matched %d requests across two nodes", matched)
	}
	if a.Active(Graph) || b.Active(Graph) {
		t.Fatal("a used-up rule is still active on a node")
	}

	// Removed and cleared through one node: gone on the other after a reload.
	for range 2 {
		if _, err := b.Add(Rule{Kind: Token, Status: 503}); err != nil {
			t.Fatal(err)
		}
	}
	list := a.List() // reads the shared rules
	if len(list) != 2 || list[0].ID != "fault-2" {
		t.Fatalf("a lists %+v", list)
	}
	if ok, err := a.Remove("fault-2"); !ok || err != nil {
		t.Fatalf("Remove = %v, %v", ok, err)
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.List(); len(got) != 1 || got[0].ID != "fault-3" {
		t.Fatalf("b lists %+v after a removed fault-2", got)
	}
	if err := a.Clear(); err != nil {
		t.Fatal(err)
	}
	b.Reload(ctx)
	if b.Active(Token) {
		t.Fatal("b still has a rule a cleared")
	}
}
