package gosdk

import (
	"errors"

	"github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// msgraph-sdk-go has no model for the body Graph POSTs to a callbackUri:
// Kiota generates only types some endpoint uses, and no endpoint returns
// commsNotifications. A Go bot therefore declares the two types itself, the
// way Kiota would from Graph's v1.0 CSDL, and reads the resource with the
// SDK's own models. These do that, and keep every undeclared property in
// AdditionalData (as generated models do) so the tests can see any extra.

// commsNotifications is microsoft.graph.commsNotifications.
type commsNotifications struct {
	odataType      *string
	value          []*commsNotification
	additionalData map[string]any
}

func createCommsNotifications(serialization.ParseNode) (serialization.Parsable, error) {
	return &commsNotifications{}, nil
}

func (m *commsNotifications) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	return map[string]func(serialization.ParseNode) error{
		"@odata.type": func(n serialization.ParseNode) (err error) {
			m.odataType, err = n.GetStringValue()
			return err
		},
		"value": func(n serialization.ParseNode) error {
			items, err := n.GetCollectionOfObjectValues(createCommsNotification)
			if err != nil {
				return err
			}
			for _, item := range items {
				cn, ok := item.(*commsNotification)
				if !ok {
					return errors.New("value: not a commsNotification")
				}
				m.value = append(m.value, cn)
			}
			return nil
		},
	}
}

func (m *commsNotifications) Serialize(serialization.SerializationWriter) error {
	return errors.New("commsNotifications: a bot only reads them")
}

func (m *commsNotifications) GetAdditionalData() map[string]any      { return m.additionalData }
func (m *commsNotifications) SetAdditionalData(value map[string]any) { m.additionalData = value }

// commsNotification is microsoft.graph.commsNotification. The CSDL declares
// changeType and resourceUrl only; resourceData, the changed resource, is kept
// as its parse node so that it can be read with the model that fits it (a
// call here, a collection of participants for roster updates).
type commsNotification struct {
	odataType      *string
	changeType     *models.ChangeType
	resourceURL    *string
	resourceData   serialization.ParseNode
	additionalData map[string]any
}

func createCommsNotification(serialization.ParseNode) (serialization.Parsable, error) {
	return &commsNotification{}, nil
}

func (m *commsNotification) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	return map[string]func(serialization.ParseNode) error{
		"@odata.type": func(n serialization.ParseNode) (err error) {
			m.odataType, err = n.GetStringValue()
			return err
		},
		"changeType": func(n serialization.ParseNode) error {
			v, err := n.GetEnumValue(models.ParseChangeType)
			if err != nil {
				return err
			}
			if v != nil {
				m.changeType = v.(*models.ChangeType)
			}
			return nil
		},
		"resourceUrl": func(n serialization.ParseNode) (err error) {
			m.resourceURL, err = n.GetStringValue()
			return err
		},
		"resourceData": func(n serialization.ParseNode) error {
			m.resourceData = n
			return nil
		},
	}
}

func (m *commsNotification) Serialize(serialization.SerializationWriter) error {
	return errors.New("commsNotification: a bot only reads them")
}

func (m *commsNotification) GetAdditionalData() map[string]any      { return m.additionalData }
func (m *commsNotification) SetAdditionalData(value map[string]any) { m.additionalData = value }

// resourceCall reads resourceData with the SDK's entity factory, which picks
// the model by @odata.type: it is a call only if the body says
// "#microsoft.graph.call".
func (m *commsNotification) resourceCall() (models.Callable, error) {
	if m.resourceData == nil {
		return nil, errors.New("no resourceData")
	}
	v, err := m.resourceData.GetObjectValue(models.CreateEntityFromDiscriminatorValue)
	if err != nil {
		return nil, err
	}
	c, ok := v.(models.Callable)
	if !ok {
		return nil, errors.New("resourceData is not a #microsoft.graph.call")
	}
	return c, nil
}
