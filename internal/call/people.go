package call

import "time"

// Person is a simulated person of a tenant: someone calls can ring, and
// how they answer them. ID is a user id or an E.164 phone number.
type Person struct {
	TenantID    string    `json:",omitzero"`
	ID          string    `json:",omitzero"`
	DisplayName string    `json:",omitzero"`
	Answering   Answering `json:",omitzero"`
	// Script is what they do on their calls, step by step.
	Script    []ScriptStep `json:",omitzero"`
	UpdatedAt time.Time    `json:",omitzero"`
}

// Check validates a person's settings.
func (p Person) Check() error {
	if p.ID == "" {
		return invalid("a person needs an id: a user id or an E.164 phone number")
	}
	if p.Answering.Mode != "" && !p.Answering.Mode.Valid() {
		return invalid("answer must be auto, busy, decline or noAnswer, not %q", string(p.Answering.Mode))
	}
	if p.Answering.Delay < 0 || p.Answering.Delay > 10*time.Minute {
		return invalid("answerDelay must be from 0 to 10 minutes")
	}
	if err := CheckScript(p.Script); err != nil {
		return err
	}
	return checkLimits(limited{"id", p.ID, MaxID}, limited{"displayName", p.DisplayName, MaxDisplayName})
}

// Party is whom an identity reaches when a call rings it: an application
// (App set: where its calls are announced, and the identity it is called
// by), or anyone else, a person who answers as Answering says.
type Party struct {
	App      *Owner
	Webhook  string
	Identity Identity
	// Answering is a person's; the zero value picks up after the answer
	// delay, as people nobody configured do. Script is what they do.
	Answering Answering
	Script    []ScriptStep
}
