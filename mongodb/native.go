package mongodb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Every state is stored as an ordinary BSON document, so that mongosh, Compass, aggregation and
// mongoexport can query it. States that reach the store as JSON (the audit before and after of
// users, rounds and questionnaire versions) are converted here, once, in both directions.

// errNotStorable reports a state the store cannot hold as a document: a key with "." or a
// leading "$", or an array directly inside an array (the embedded store refuses both, and
// MongoDB reserves them for its own syntax).
var errNotStorable = errors.New("not storable as a document")

// jsonToBSON converts a JSON object to a BSON document, keeping the order of its keys.
func jsonToBSON(raw json.RawMessage) (bson.Raw, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var d bson.D
	// Relaxed extended JSON reads plain JSON as plain values; canonical=false keeps "1" an
	// int32 rather than demanding {"$numberInt": "1"}.
	if err := bson.UnmarshalExtJSON(raw, false, &d); err != nil {
		return nil, fmt.Errorf("convert state to a document: %w", err)
	}
	b, err := bson.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("convert state to a document: %w", err)
	}
	if err := checkStorable(bson.Raw(b), ""); err != nil {
		return nil, err
	}
	return b, nil
}

// checkStorable refuses what the embedded store (and MongoDB's query language) cannot hold.
func checkStorable(doc bson.Raw, path string) error {
	elems, err := doc.Elements()
	if err != nil {
		return err
	}
	for _, e := range elems {
		key := e.Key()
		if strings.Contains(key, ".") || strings.HasPrefix(key, "$") {
			return fmt.Errorf("%w: key %q at %q", errNotStorable, key, path)
		}
		if err := checkStorableValue(e.Value(), path+"/"+key); err != nil {
			return err
		}
	}
	return nil
}

func checkStorableValue(v bson.RawValue, path string) error {
	switch v.Type {
	case bson.TypeEmbeddedDocument:
		return checkStorable(v.Document(), path)
	case bson.TypeArray:
		vals, err := v.Array().Values()
		if err != nil {
			return err
		}
		for i, item := range vals {
			if item.Type == bson.TypeArray {
				return fmt.Errorf("%w: array inside an array at %q", errNotStorable, path)
			}
			if err := checkStorableValue(item, path+"/"+strconv.Itoa(i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// bsonToJSON renders a stored document as plain JSON: documents as objects in stored key
// order, dates as RFC 3339 strings, numbers as numbers.
func bsonToJSON(v bson.RawValue) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := writeJSON(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeJSON(buf *bytes.Buffer, v bson.RawValue) error {
	switch v.Type {
	case bson.TypeEmbeddedDocument:
		elems, err := v.Document().Elements()
		if err != nil {
			return err
		}
		buf.WriteByte('{')
		for i, e := range elems {
			if i > 0 {
				buf.WriteByte(',')
			}
			k, _ := json.Marshal(e.Key())
			buf.Write(k)
			buf.WriteByte(':')
			if err := writeJSON(buf, e.Value()); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case bson.TypeArray:
		vals, err := v.Array().Values()
		if err != nil {
			return err
		}
		buf.WriteByte('[')
		for i, item := range vals {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, item); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case bson.TypeString:
		b, _ := json.Marshal(v.StringValue())
		buf.Write(b)
	case bson.TypeInt32:
		buf.WriteString(strconv.FormatInt(int64(v.Int32()), 10))
	case bson.TypeInt64:
		buf.WriteString(strconv.FormatInt(v.Int64(), 10))
	case bson.TypeDouble:
		f := v.Double()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			buf.WriteString("null")
			break
		}
		buf.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	case bson.TypeBoolean:
		buf.WriteString(strconv.FormatBool(v.Boolean()))
	case bson.TypeNull, bson.TypeUndefined:
		buf.WriteString("null")
	case bson.TypeDateTime:
		t := time.UnixMilli(v.DateTime()).UTC()
		b, _ := json.Marshal(t)
		buf.Write(b)
	default:
		// Nothing this service writes has another type; render it as extended JSON rather
		// than failing a read of the audit trail.
		b, err := bson.MarshalExtJSON(bson.D{{Key: "v", Value: v}}, false, false)
		if err != nil {
			return err
		}
		var wrapped struct{ V json.RawMessage }
		if err := json.Unmarshal(b, &wrapped); err != nil {
			return err
		}
		buf.Write(wrapped.V)
	}
	return nil
}

// decodeState reads a stored state into v: a document (this schema), or the JSON text that
// schema 1 stored, which a store is migrated away from at start-up but an instance of the
// previous release may still write during a rolling upgrade.
func decodeState(rv bson.RawValue, v any) error {
	switch rv.Type {
	case bson.TypeEmbeddedDocument:
		return rv.Unmarshal(v)
	case bson.TypeString:
		return json.Unmarshal([]byte(rv.StringValue()), v)
	}
	return fmt.Errorf("stored state of type %s", rv.Type)
}

// stateJSON renders a stored state (either schema) as JSON for the audit trail.
func stateJSON(rv bson.RawValue) (json.RawMessage, error) {
	switch rv.Type {
	case 0, bson.TypeNull:
		return nil, nil
	case bson.TypeString:
		return json.RawMessage(rv.StringValue()), nil
	}
	return bsonToJSON(rv)
}
