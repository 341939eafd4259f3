package graph

// Collection is a collection response: a call's participants, operations,
// audio routing groups or content sharing sessions.
type Collection[T any] struct {
	ODataContext string `json:"@odata.context,omitempty"`
	Value        []T    `json:"value"`
}

// CollectionOf renders items with render, under the context URL.
func CollectionOf[D, T any](context string, items []D, render func(D) T) Collection[T] {
	c := Collection[T]{ODataContext: context, Value: make([]T, len(items))}
	for i, item := range items {
		c.Value[i] = render(item)
	}
	return c
}
