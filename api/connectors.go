package api

import (
	"encoding/json"
	"net/http"
	"net/mail"

	"github.com/idbolt/idbolt/store"
)

// selectItem is a value of a Select form item.
type selectItem struct {
	Value string `json:"value"`
	Title string `json:"title"`
}

// formItemResponse is a field of a factory's config form, Logto's shape.
type formItemResponse struct {
	Type           string       `json:"type"`
	Key            string       `json:"key"`
	Label          string       `json:"label"`
	Required       bool         `json:"required"`
	Description    string       `json:"description,omitempty"`
	DefaultValue   any          `json:"defaultValue,omitempty"`
	SelectItems    []selectItem `json:"selectItems,omitempty"`
	IsConfidential bool         `json:"isConfidential,omitempty"`
}

// factoryFields are what a connector factory and its connectors show alike.
type factoryFields struct {
	Type           string             `json:"type"`
	IsDemo         bool               `json:"isDemo,omitempty"`
	Target         string             `json:"target"`
	Name           map[string]string  `json:"name"`
	Description    map[string]string  `json:"description"`
	Logo           string             `json:"logo"`
	LogoDark       *string            `json:"logoDark"`
	Readme         string             `json:"readme"`
	ConfigTemplate string             `json:"configTemplate,omitempty"`
	FormItems      []formItemResponse `json:"formItems,omitempty"`
	// CustomData, FromEmail, ExtraInfo and Usage are Logto's for its
	// cloud email service and social connectors; idbolt has neither, so
	// they are never set.
	CustomData              map[string]any `json:"customData,omitempty"`
	FromEmail               string         `json:"fromEmail,omitempty"`
	Platform                *string        `json:"platform"`
	IsStandard              bool           `json:"isStandard,omitempty"`
	IsTokenStorageSupported bool           `json:"isTokenStorageSupported,omitempty"`
}

// connectorFactoryResponse is a connector factory on the wire.
type connectorFactoryResponse struct {
	ID string `json:"id"`
	factoryFields
}

// connectorMetadataBody is a connector's metadata, in requests and answers.
type connectorMetadataBody struct {
	Target   *string           `json:"target,omitempty"`
	Name     map[string]string `json:"name,omitempty"`
	Logo     *string           `json:"logo,omitempty"`
	LogoDark *string           `json:"logoDark,omitempty"`
}

// connectorResponse is a connector on the wire: its own fields and its
// factory's (connectorId names the factory). Confidential config values are
// store.ConfigMask.
type connectorResponse struct {
	ID                 string                `json:"id"`
	SyncProfile        bool                  `json:"syncProfile"`
	EnableTokenStorage bool                  `json:"enableTokenStorage"`
	Config             map[string]any        `json:"config"`
	Metadata           connectorMetadataBody `json:"metadata"`
	ConnectorID        string                `json:"connectorId"`
	factoryFields
	ExtraInfo map[string]any `json:"extraInfo,omitempty"` // never set, as CustomData
	Usage     *int           `json:"usage,omitempty"`     // never set, as CustomData
}

func toFactoryFields(f *store.ConnectorFactory) factoryFields {
	items := make([]formItemResponse, len(f.FormItems))
	for i, it := range f.FormItems {
		items[i] = formItemResponse{Type: it.Type, Key: it.Key, Label: it.Label, Required: it.Required,
			Description: it.Description, DefaultValue: it.DefaultValue, IsConfidential: it.Confidential}
		for _, v := range it.SelectItems {
			items[i].SelectItems = append(items[i].SelectItems, selectItem{Value: v, Title: v})
		}
	}
	return factoryFields{Type: f.Type, Target: f.Target, Name: map[string]string{"en": f.Name},
		Description: map[string]string{"en": f.Description}, Readme: f.Readme, FormItems: items,
		ConfigTemplate: configTemplate(f)}
}

// configTemplate returns an example config of f as JSON text, Logto's
// configTemplate: each item's default, or a placeholder naming its type.
func configTemplate(f *store.ConnectorFactory) string {
	example := make(map[string]any, len(f.FormItems))
	for _, it := range f.FormItems {
		switch {
		case it.DefaultValue != nil:
			example[it.Key] = it.DefaultValue
		case it.Type == store.FormNumber:
			example[it.Key] = 0
		case it.Type == store.FormSwitch:
			example[it.Key] = false
		default:
			example[it.Key] = "<" + it.Label + ">"
		}
	}
	data, _ := json.MarshalIndent(example, "", "  ")
	return string(data)
}

func toConnectorFactoryResponse(f *store.ConnectorFactory) connectorFactoryResponse {
	return connectorFactoryResponse{ID: f.ID, factoryFields: toFactoryFields(f)}
}

func toConnectorResponse(c *store.Connector) connectorResponse {
	f := c.Factory()
	m := c.Metadata
	out := connectorResponse{ID: c.ID, SyncProfile: c.SyncProfile, EnableTokenStorage: c.EnableTokenStorage,
		Config: c.Config, ConnectorID: c.FactoryID, factoryFields: toFactoryFields(f),
		Metadata: connectorMetadataBody{Target: m.Target, Name: m.Name, Logo: m.Logo, LogoDark: m.LogoDark}}
	// The connector's own metadata shows over its factory's, as in Logto.
	if m.Target != nil {
		out.Target = *m.Target
	}
	if len(m.Name) > 0 {
		out.Name = m.Name
	}
	if m.Logo != nil {
		out.Logo = *m.Logo
	}
	if m.LogoDark != nil {
		out.LogoDark = m.LogoDark
	}
	return out
}

func (b *connectorMetadataBody) toStore() store.ConnectorMetadata {
	if b == nil {
		return store.ConnectorMetadata{}
	}
	return store.ConnectorMetadata{Target: b.Target, Name: b.Name, Logo: b.Logo, LogoDark: b.LogoDark}
}

func (s *Server) handleConnectorFactoryList(w http.ResponseWriter, r *request) error {
	s.writeJSON(w, r, http.StatusOK, mapSlice(store.ConnectorFactories(), toConnectorFactoryResponse))
	return nil
}

func (s *Server) handleConnectorFactoryGet(w http.ResponseWriter, r *request) error {
	f, err := store.FindConnectorFactory(r.param("factoryId"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toConnectorFactoryResponse(f))
	return nil
}

func (s *Server) handleConnectorList(w http.ResponseWriter, r *request) error {
	list, err := s.store.FindConnectors(r.Context(), r.tenant)
	if err != nil {
		return err
	}
	out := mapSlice(list, toConnectorResponse)
	if target := r.URL.Query().Get("target"); target != "" {
		kept := out[:0]
		for _, c := range out {
			if c.Target == target {
				kept = append(kept, c)
			}
		}
		out = kept
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) handleConnectorGet(w http.ResponseWriter, r *request) error {
	c, err := s.store.FindConnectorByID(r.Context(), r.tenant, r.param("connectorId"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toConnectorResponse(c))
	return nil
}

// connectorCreateRequest is the body of POST /api/connectors.
type connectorCreateRequest struct {
	ConnectorID        *string                `json:"connectorId"`
	Config             map[string]any         `json:"config"`
	Metadata           *connectorMetadataBody `json:"metadata"`
	SyncProfile        bool                   `json:"syncProfile"`
	EnableTokenStorage bool                   `json:"enableTokenStorage"`
	ID                 string                 `json:"id"`
}

func (s *Server) handleConnectorCreate(w http.ResponseWriter, r *request) error {
	var req connectorCreateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.ConnectorID != nil, "connectorId"); err != nil {
		return err
	}
	c, err := s.store.CreateConnector(r.Context(), r.tenant, store.ConnectorCreate{ID: req.ID, FactoryID: *req.ConnectorID,
		Config: req.Config, Metadata: req.Metadata.toStore(), SyncProfile: req.SyncProfile, EnableTokenStorage: req.EnableTokenStorage})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toConnectorResponse(c)) // Logto answers 200, not 201
	return nil
}

// connectorUpdateRequest is the body of PATCH /api/connectors/{id}.
type connectorUpdateRequest struct {
	Config             map[string]any         `json:"config"`
	Metadata           *connectorMetadataBody `json:"metadata"`
	SyncProfile        *bool                  `json:"syncProfile"`
	EnableTokenStorage *bool                  `json:"enableTokenStorage"`
}

func (s *Server) handleConnectorUpdate(w http.ResponseWriter, r *request) error {
	var req connectorUpdateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	upd := store.ConnectorUpdate{Config: req.Config, SyncProfile: req.SyncProfile, EnableTokenStorage: req.EnableTokenStorage}
	if req.Metadata != nil {
		m := req.Metadata.toStore()
		upd.Metadata = &m
	}
	c, err := s.store.UpdateConnector(r.Context(), r.tenant, r.param("connectorId"), upd)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toConnectorResponse(c))
	return nil
}

func (s *Server) handleConnectorDelete(w http.ResponseWriter, r *request) error {
	if err := s.store.DeleteConnector(r.Context(), r.tenant, r.param("connectorId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// connectorTestRequest is the body of POST /api/connectors/{factoryId}/test.
type connectorTestRequest struct {
	Phone  *string        `json:"phone"`
	Email  *string        `json:"email"`
	Config map[string]any `json:"config"`
	Locale *string        `json:"locale"`
}

// handleConnectorTest sends a test message with a config that need not be
// saved, as Logto's console does before it saves one.
func (s *Server) handleConnectorTest(w http.ResponseWriter, r *request) error {
	var req connectorTestRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	f, err := store.FindConnectorFactory(r.param("connectorId"))
	if err != nil {
		return err
	}
	if err := requireField(req.Config != nil, "config"); err != nil {
		return err
	}
	var to string
	switch f.Type {
	case store.ConnectorEmail:
		if req.Email == nil {
			return requireField(false, "email")
		}
		if a, err := mail.ParseAddress(*req.Email); err != nil || a.Address != *req.Email || len(*req.Email) > 254 {
			return fieldErr("email", "must be an email address")
		}
		to = *req.Email
	case store.ConnectorSms:
		if req.Phone == nil {
			return requireField(false, "phone")
		}
		if !validPhone(*req.Phone) {
			return fieldErr("phone", "must be a phone number of digits, optionally led by +")
		}
		to = *req.Phone
	}
	c, err := s.store.ResolveConnectorConfig(r.Context(), r.tenant, f.ID, req.Config)
	if err != nil {
		return err
	}
	payload := map[string]any{payloadCode: "000000"}
	if req.Locale != nil {
		payload["locale"] = *req.Locale
	}
	if err := s.messenger.send(r.Context(), c, connectorMessage{To: to, Type: messageGeneric, Payload: payload, test: true}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// validPhone reports whether p is a phone number as Logto's guard takes
// it: 1 to 20 digits, optionally led by +.
func validPhone(p string) bool {
	if len(p) > 0 && p[0] == '+' {
		p = p[1:]
	}
	if len(p) == 0 || len(p) > 20 {
		return false
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
