package graphschema

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Violation is one way a JSON document departs from the schema. Check returns
// violations as *Violation; problems with the call itself (unknown type name,
// bad option) are returned as plain errors.
type Violation struct {
	// Path locates the offending value, e.g.
	// "value[0].resourceData.resultInfo.code". The document root is "".
	Path string
	Msg  string
}

func (v *Violation) Error() string {
	path := v.Path
	if path == "" {
		path = "(root)"
	}
	return path + ": " + v.Msg
}

// Option adjusts what Check accepts.
type Option func(*options)

type options struct {
	extras             []extraSpec
	requireNonNullable bool
}

type extraSpec struct {
	typeName string
	props    []string
}

// defaultExtras are properties that the real service sends on open types and
// that Graph's documentation shows, but that the CSDL does not declare.
// commsNotification declares only changeType and resourceUrl, yet every
// documented notification carries resourceData, and many carry resource and
// callbackUri.
var defaultExtras = []extraSpec{
	{"commsNotification", []string{"resourceData", "callbackUri", "resource"}},
	// call-transfer.md: a consultative transfer ends with terminationReason,
	// and its failure carries replacesContext.
	{"call", []string{"terminationReason", "replacesContext"}},
	// call-cancelmediaprocessing.md: a cancelled recordOperation carries
	// completionReason.
	{"recordOperation", []string{"completionReason"}},
}

// AllowExtra accepts the undeclared properties props on the open type
// typeName (any accepted spelling, see Check) and on types derived from it.
// Extras are not typed by the schema, so their values are only validated when
// they announce their own type: an object with "@odata.type", or an array of
// such objects, is checked against that type (this is how resourceData is
// checked); anything else is accepted as is.
func AllowExtra(typeName string, props ...string) Option {
	return func(o *options) { o.extras = append(o.extras, extraSpec{typeName, props}) }
}

// RequireNonNullable additionally reports structural properties declared
// Nullable="false" (entity id included) that are absent. By default only an
// explicit null is a violation, since Graph payloads are often partial, e.g.
// the call in a notification's resourceData has no callbackUri.
func RequireNonNullable() Option {
	return func(o *options) { o.requireNonNullable = true }
}

// Check validates doc as an instance of typeName and returns every violation
// found, or nil if there are none.
//
// typeName may be qualified ("microsoft.graph.call"), alias-qualified
// ("graph.call") or bare ("call"), optionally wrapped as "Collection(T)". A
// collection is accepted either as a JSON array or as an OData collection
// response object ({"@odata.context": ..., "value": [...]}).
//
// Every property must be declared on the value's type or a base type, even on
// open types (see AllowExtra); keys containing "@" (control information and
// instance annotations) are skipped. "@odata.type", when present, must be
// "#microsoft.graph.X" with X the declared type or derived from it, and
// selects the type to check against; an abstract declared type requires it.
// Values must match their Edm, enum, complex or entity type, and null is
// rejected where the schema says Nullable="false" and for collections.
func (s *Schema) Check(typeName string, doc []byte, opts ...Option) []error {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	c := &checker{s: s, requireNonNullable: o.requireNonNullable, extras: make(map[*structType][]string)}
	for _, e := range append(slices.Clone(defaultExtras), o.extras...) {
		ref := s.parseRef(e.typeName)
		t := s.structs[ref.name]
		switch {
		case ref.collection || t == nil:
			return []error{fmt.Errorf("graphschema: AllowExtra(%q): not a complex or entity type in the schema", e.typeName)}
		case !t.open:
			// Graph rejects undeclared properties on closed types, so allowing
			// one would bless invalid output.
			return []error{fmt.Errorf("graphschema: AllowExtra(%q): %s is not an open type", e.typeName, s.qualify(t.name))}
		}
		c.extras[t] = append(c.extras[t], e.props...)
	}

	ref := s.parseRef(typeName)
	if !s.known(ref.name) {
		return []error{fmt.Errorf("graphschema: unknown type %q", typeName)}
	}
	v, err := decode(doc)
	if err != nil {
		return []error{&Violation{Msg: "invalid JSON: " + err.Error()}}
	}
	if v == nil {
		return []error{&Violation{Msg: "document is null"}}
	}
	if obj, ok := v.(object); ok && ref.collection {
		c.collectionResponse(ref, obj)
	} else {
		c.value("", ref, false, v)
	}
	return c.errs
}

type checker struct {
	s                  *Schema
	extras             map[*structType][]string
	requireNonNullable bool
	errs               []error
}

func (c *checker) fail(path, format string, args ...any) {
	c.errs = append(c.errs, &Violation{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// collectionResponse checks an OData collection response: a "value" array
// plus control information such as @odata.context and @odata.nextLink.
func (c *checker) collectionResponse(ref typeRef, obj object) {
	if _, ok := obj.get("value"); !ok {
		c.fail("", "collection response has no \"value\" array")
	}
	seen := make(map[string]bool)
	for _, m := range obj {
		switch {
		case seen[m.key]:
			c.fail(m.key, "duplicate key")
		case m.key == "value":
			c.value(m.key, ref, false, m.val)
		case !strings.Contains(m.key, "@"):
			c.fail(m.key, "unexpected property in collection response")
		}
		seen[m.key] = true
	}
}

// value checks v against ref. nullable is the declared Nullable facet, which
// for a collection applies to its elements: per CSDL a collection-valued
// property is never null itself, only empty.
func (c *checker) value(path string, ref typeRef, nullable bool, v any) {
	if v == nil {
		if ref.collection {
			c.fail(path, "%s must be an array, not null (collections are never null in OData; use [])", c.display(ref))
		} else if !nullable {
			c.fail(path, "null is not allowed (Nullable=\"false\")")
		}
		return
	}
	if !ref.collection {
		c.single(path, ref.name, v)
		return
	}
	arr, ok := v.([]any)
	if !ok {
		c.fail(path, "%s must be a JSON array, got %s", c.display(ref), describe(v))
		return
	}
	for i, el := range arr {
		switch {
		case el != nil:
			c.single(index(path, i), ref.name, el)
		case !nullable:
			c.fail(index(path, i), "null element is not allowed (Nullable=\"false\")")
		}
	}
}

func (c *checker) display(ref typeRef) string {
	if ref.collection {
		return "Collection(" + c.s.qualify(ref.name) + ")"
	}
	return c.s.qualify(ref.name)
}

// single checks a non-null, non-collection value.
func (c *checker) single(path, name string, v any) {
	if check := primitives[name]; check != nil {
		if msg := check(v); msg != "" {
			c.fail(path, "invalid %s: %s", name, msg)
		}
		return
	}
	if e := c.s.enums[name]; e != nil {
		c.enum(path, e, v)
		return
	}
	if t := c.s.structs[name]; t != nil {
		c.object(path, t, v)
		return
	}
	c.fail(path, "type %s is not in the schema extract, so this value cannot be validated", c.s.qualify(name))
}

func (c *checker) enum(path string, e *enumType, v any) {
	str, ok := v.(string)
	if !ok {
		c.fail(path, "%s must be a member name (JSON string), got %s", c.s.qualify(e.name), describe(v))
		return
	}
	vals := []string{str}
	if e.flags {
		vals = strings.Split(str, ",")
	}
	for _, val := range vals {
		if !e.has(val) {
			c.fail(path, "%q is not a member of %s (members: %s)", val, c.s.qualify(e.name), strings.Join(e.members, ", "))
		}
	}
}

// object checks v as an instance of declared or of the type its @odata.type
// selects.
func (c *checker) object(path string, declared *structType, v any) {
	obj, ok := v.(object)
	if !ok {
		c.fail(path, "%s must be a JSON object, got %s", c.s.qualify(declared.name), describe(v))
		return
	}
	t := c.concreteType(path, declared, obj)
	seen := make(map[string]bool)
	for _, m := range obj {
		mpath := join(path, m.key)
		if seen[m.key] {
			c.fail(mpath, "duplicate key")
			continue
		}
		seen[m.key] = true
		// Control information (@odata.*) and instance annotations
		// (prop@ns.term, @ns.term) are not properties; @odata.type was
		// handled by concreteType.
		if strings.Contains(m.key, "@") {
			continue
		}
		if p := t.property(m.key); p != nil {
			c.value(mpath, p.typ, p.nullable, m.val)
			continue
		}
		if c.isExtra(t, m.key) {
			c.extra(mpath, m.val)
			continue
		}
		msg := fmt.Sprintf("property %q is not declared on %s or its base types", m.key, c.s.qualify(t.name))
		if t.open {
			msg += " (open type, but only allow-listed extras are accepted; see AllowExtra)"
		}
		c.fail(mpath, "%s", msg)
	}
	if c.requireNonNullable {
		for _, p := range t.allProperties() {
			if !p.nullable && !p.nav && !seen[p.name] {
				c.fail(join(path, p.name), "missing property declared Nullable=\"false\"")
			}
		}
	}
}

// concreteType returns the type obj is an instance of: the one named by its
// @odata.type if that is declared or derives from it, else declared.
func (c *checker) concreteType(path string, declared *structType, obj object) *structType {
	raw, ok := obj.get("@odata.type")
	if !ok {
		if declared.abstract {
			c.fail(path, "%s is abstract; an instance needs @odata.type naming a concrete derived type", c.s.qualify(declared.name))
		}
		return declared
	}
	t := c.odataType(join(path, "@odata.type"), raw)
	switch {
	case t == nil:
		return declared
	case !t.derivesFrom(declared):
		c.fail(join(path, "@odata.type"), "%s is neither %s nor derived from it", c.s.qualify(t.name), c.s.qualify(declared.name))
		return declared
	case t.abstract:
		c.fail(join(path, "@odata.type"), "%s is abstract and cannot be instantiated", c.s.qualify(t.name))
	}
	return t
}

// odataType resolves an @odata.type value, which Graph always writes
// namespace-qualified: "#microsoft.graph.call".
func (c *checker) odataType(path string, raw any) *structType {
	str, ok := raw.(string)
	if !ok {
		c.fail(path, "must be a string, got %s", describe(raw))
		return nil
	}
	prefix := "#" + c.s.namespace + "."
	name, ok := strings.CutPrefix(str, prefix)
	if !ok {
		c.fail(path, "%q must have the form %q", str, prefix+"<type>")
		return nil
	}
	t := c.s.structs[name]
	if t == nil {
		c.fail(path, "%q names no complex or entity type in the schema", str)
	}
	return t
}

func (c *checker) isExtra(t *structType, key string) bool {
	for ; t != nil; t = t.base {
		if slices.Contains(c.extras[t], key) {
			return true
		}
	}
	return false
}

// extra checks an allow-listed undeclared property. Only values that carry
// their own @odata.type can be checked; see AllowExtra.
func (c *checker) extra(path string, v any) {
	switch v := v.(type) {
	case object:
		c.selfTyped(path, v)
	case []any:
		for i, el := range v {
			if obj, ok := el.(object); ok {
				c.selfTyped(index(path, i), obj)
			}
		}
	}
}

func (c *checker) selfTyped(path string, obj object) {
	raw, ok := obj.get("@odata.type")
	if !ok {
		return
	}
	if t := c.odataType(join(path, "@odata.type"), raw); t != nil {
		c.object(path, t, obj)
	}
}
