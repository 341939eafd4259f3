// Package graphschema checks JSON bodies against Microsoft Graph's v1.0 CSDL
// for the cloud-communications calls API, so tests can assert that every JSON
// body callplane emits is valid Graph.
//
// The CSDL is an embedded, verbatim extract of Microsoft's metadata (see
// schema/README.md). Check is stricter than OData itself on purpose: open types
// accept no undeclared properties unless allow-listed, because callplane
// should emit only what the real service emits.
package graphschema

import (
	_ "embed"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"sync"
)

//go:embed schema/calls-v1.0.xml
var callsCSDL []byte

// Schema is a parsed CSDL schema. It is immutable and safe for concurrent use.
type Schema struct {
	namespace string // "microsoft.graph"
	alias     string // "graph"
	structs   map[string]*structType
	enums     map[string]*enumType
}

// structType is a ComplexType or EntityType.
type structType struct {
	name     string // unqualified
	entity   bool
	abstract bool
	open     bool
	base     *structType
	props    []*property // declared on this type only, in CSDL order
}

type property struct {
	name     string
	typ      typeRef
	nullable bool
	nav      bool
}

// typeRef is a parsed type reference. name is "Edm.X" for primitives and the
// unqualified name for types in the schema's namespace.
type typeRef struct {
	name       string
	collection bool
}

type enumType struct {
	name    string
	flags   bool
	members []string
}

var load = sync.OnceValues(func() (*Schema, error) { return parse(callsCSDL) })

// Load parses the embedded CSDL. The result is cached; every call returns the
// same immutable *Schema.
func Load() (*Schema, error) { return load() }

// MustLoad is like Load but panics on error. It is meant for tests.
func MustLoad() *Schema {
	s, err := Load()
	if err != nil {
		panic(err)
	}
	return s
}

type xmlEdmx struct {
	Schemas []xmlSchema `xml:"DataServices>Schema"`
}

type xmlSchema struct {
	Namespace    string      `xml:"Namespace,attr"`
	Alias        string      `xml:"Alias,attr"`
	EnumTypes    []xmlEnum   `xml:"EnumType"`
	ComplexTypes []xmlStruct `xml:"ComplexType"`
	EntityTypes  []xmlStruct `xml:"EntityType"`
}

type xmlEnum struct {
	Name    string `xml:"Name,attr"`
	IsFlags string `xml:"IsFlags,attr"`
	Members []struct {
		Name string `xml:"Name,attr"`
	} `xml:"Member"`
}

type xmlStruct struct {
	Name     string    `xml:"Name,attr"`
	BaseType string    `xml:"BaseType,attr"`
	Abstract string    `xml:"Abstract,attr"`
	OpenType string    `xml:"OpenType,attr"`
	Props    []xmlProp `xml:"Property"`
	NavProps []xmlProp `xml:"NavigationProperty"`
}

type xmlProp struct {
	Name     string `xml:"Name,attr"`
	Type     string `xml:"Type,attr"`
	Nullable string `xml:"Nullable,attr"`
}

func parse(data []byte) (*Schema, error) {
	var doc xmlEdmx
	if err := xml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("graphschema: parsing CSDL: %w", err)
	}
	if len(doc.Schemas) != 1 {
		return nil, fmt.Errorf("graphschema: want exactly one Schema element, got %d", len(doc.Schemas))
	}
	xs := doc.Schemas[0]
	s := &Schema{
		namespace: xs.Namespace,
		alias:     xs.Alias,
		structs:   make(map[string]*structType),
		enums:     make(map[string]*enumType),
	}

	var errs []error
	dup := func(name string) bool {
		if s.structs[name] != nil || s.enums[name] != nil {
			errs = append(errs, fmt.Errorf("graphschema: type %s declared twice", name))
			return true
		}
		return false
	}
	for _, xe := range xs.EnumTypes {
		if dup(xe.Name) {
			continue
		}
		e := &enumType{name: xe.Name, flags: xe.IsFlags == "true"}
		for _, m := range xe.Members {
			e.members = append(e.members, m.Name)
		}
		s.enums[e.name] = e
	}
	// Register all structured types before resolving references, since
	// references point forwards and backwards.
	type pending struct {
		t *structType
		x xmlStruct
	}
	var todo []pending
	add := func(list []xmlStruct, entity bool) {
		for _, x := range list {
			if dup(x.Name) {
				continue
			}
			t := &structType{name: x.Name, entity: entity, abstract: x.Abstract == "true", open: x.OpenType == "true"}
			s.structs[t.name] = t
			todo = append(todo, pending{t, x})
		}
	}
	add(xs.ComplexTypes, false)
	add(xs.EntityTypes, true)

	for _, pt := range todo {
		t, x := pt.t, pt.x
		if x.BaseType != "" {
			ref := s.parseRef(x.BaseType)
			base := s.structs[ref.name]
			switch {
			case ref.collection || base == nil:
				errs = append(errs, fmt.Errorf("graphschema: %s: unknown base type %s", t.name, x.BaseType))
			case base.entity != t.entity:
				errs = append(errs, fmt.Errorf("graphschema: %s: base type %s is of a different kind", t.name, x.BaseType))
			default:
				t.base = base
			}
		}
		for _, xp := range x.Props {
			p := &property{name: xp.Name, typ: s.parseRef(xp.Type), nullable: xp.Nullable != "false"}
			if !s.known(p.typ.name) {
				errs = append(errs, fmt.Errorf("graphschema: %s.%s: unknown or unsupported type %s", t.name, p.name, xp.Type))
			}
			t.props = append(t.props, p)
		}
		for _, xp := range x.NavProps {
			// Navigation targets may lie outside the extract (cloudCommunications
			// points at onlineMeeting, presence, ...). Check reports instances
			// of such types instead of Load failing.
			p := &property{name: xp.Name, typ: s.parseRef(xp.Type), nullable: xp.Nullable != "false", nav: true}
			if target := s.structs[p.typ.name]; target != nil && !target.entity {
				errs = append(errs, fmt.Errorf("graphschema: %s.%s: navigation target %s is not an entity type", t.name, p.name, xp.Type))
			}
			t.props = append(t.props, p)
		}
	}
	for _, pt := range todo {
		t, n := pt.t, 0
		for b := t.base; b != nil; b = b.base {
			if n++; n > len(s.structs) {
				errs = append(errs, fmt.Errorf("graphschema: %s: cyclic base types", t.name))
				break
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// parseRef parses "Collection(T)" and strips the namespace or alias from T.
// Bare names are taken to be in the schema's namespace.
func (s *Schema) parseRef(raw string) typeRef {
	var ref typeRef
	if inner, ok := strings.CutPrefix(raw, "Collection("); ok && strings.HasSuffix(inner, ")") {
		ref.collection = true
		raw = strings.TrimSuffix(inner, ")")
	}
	ref.name = raw
	if n, ok := strings.CutPrefix(raw, s.namespace+"."); ok {
		ref.name = n
	} else if n, ok := strings.CutPrefix(raw, s.alias+"."); ok && s.alias != "" {
		ref.name = n
	}
	return ref
}

// known reports whether name (as in typeRef.name) can be validated.
func (s *Schema) known(name string) bool {
	return primitives[name] != nil || s.enums[name] != nil || s.structs[name] != nil
}

// qualify renders an unqualified name the way Graph does in @odata.type.
func (s *Schema) qualify(name string) string {
	if strings.HasPrefix(name, "Edm.") {
		return name
	}
	return s.namespace + "." + name
}

// property finds name on t or its base types.
func (t *structType) property(name string) *property {
	for ; t != nil; t = t.base {
		for _, p := range t.props {
			if p.name == name {
				return p
			}
		}
	}
	return nil
}

// allProperties lists the properties of t and its base types, base first.
func (t *structType) allProperties() []*property {
	if t == nil {
		return nil
	}
	return append(t.base.allProperties(), t.props...)
}

func (t *structType) derivesFrom(base *structType) bool {
	for ; t != nil; t = t.base {
		if t == base {
			return true
		}
	}
	return false
}

func (e *enumType) has(v string) bool {
	for _, m := range e.members {
		if m == v {
			return true
		}
	}
	return false
}
