package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/callplane/callplane/internal/auth"
	"github.com/callplane/callplane/internal/auth/registrytest"
	"github.com/callplane/callplane/internal/fault"
	"github.com/callplane/callplane/internal/pgtest"
)

func sharedDirectory(t *testing.T, s *Store) auth.Registry {
	t.Helper()
	d, _, err := auth.OpenSharedDirectory(context.Background(), s.Documents())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDirectoryInPostgres: the shared directory on PostgreSQL is a
// registry, and two nodes' directories on one database are one.
func TestDirectoryInPostgres(t *testing.T) {
	registrytest.Run(t, func(t *testing.T) auth.Registry {
		return sharedDirectory(t, open(t, pgtest.URL(t), ""))
	})
	registrytest.RunShared(t, func(t *testing.T) (auth.Registry, auth.Registry) {
		url := pgtest.URL(t)
		return sharedDirectory(t, open(t, url, "")), sharedDirectory(t, open(t, url, ""))
	})
}

// TestFaultRulesInPostgres: a rule of 3 times matches 3 requests across
// two nodes; what one node removes the other no longer applies.
func TestFaultRulesInPostgres(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	a, err := fault.NewShared(ctx, open(t, url, "").FaultRules())
	if err != nil {
		t.Fatal(err)
	}
	b, err := fault.NewShared(ctx, open(t, url, "").FaultRules())
	if err != nil {
		t.Fatal(err)
	}
	rule, err := a.Add(fault.Rule{Kind: fault.Graph, Status: 503, Times: 3})
	if err != nil {
		t.Fatal(err)
	}
	timed, err := b.Add(fault.Rule{Kind: fault.Token, Status: 503, For: fault.Duration(time.Hour)})
	if err != nil || timed.ID == rule.ID {
		t.Fatalf("second rule %+v (%v): ids are the cluster's", timed, err)
	}
	if err := a.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	matched := 0
	for i := range 8 {
		node := []*fault.Set{a, b}[i%2]
		if _, ok := node.GraphRequest(fault.Request{Method: "GET", Path: "/communications/calls/x"}); ok {
			matched++
		}
	}
	if matched != 3 {
		t.Fatalf("a rule of 3 times matched %d requests on two nodes", matched)
	}
	if list := a.List(); len(list) != 1 || list[0].ID != timed.ID {
		t.Fatalf("rules in force %+v, want only %s", list, timed.ID)
	}
	if ok, err := a.Remove(timed.ID); !ok || err != nil {
		t.Fatalf("remove: %v %v", ok, err)
	}
	if _, ok := b.TokenRequest("app"); ok {
		t.Fatal("b applied a rule a removed")
	}
}
