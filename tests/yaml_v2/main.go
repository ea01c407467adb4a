// The text the Pulumi CLI hands the program for one config value of a stack file: the value
// decoded by gopkg.in/yaml.v2 into an untyped value, turned into the CLI's config object
// (map keys as fmt's %v prints them) and written out by MarshalString, as
// pulumi/sdk/go/common/resource/config/object.go does: a string as it is, anything else as
// JSON from encoding/json. Reads YAML on stdin (`value: ...`); prints that text, or
// "error: ..." where the CLI cannot hold the value.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	yaml "gopkg.in/yaml.v2"
)

func object(v interface{}) (interface{}, error) {
	switch v := v.(type) {
	case map[interface{}]interface{}:
		m := make(map[string]interface{}, len(v))
		for k, child := range v {
			o, err := object(child)
			if err != nil {
				return nil, err
			}
			m[fmt.Sprintf("%v", k)] = o
		}
		return m, nil
	case []interface{}:
		a := make([]interface{}, len(v))
		for i, child := range v {
			o, err := object(child)
			if err != nil {
				return nil, err
			}
			a[i] = o
		}
		return a, nil
	case nil, bool, int, int64, float64, string:
		return v, nil
	default: // unmarshalObject's contract.Failf
		return nil, fmt.Errorf("unexpected wire type %T", v)
	}
}

func text() (string, error) {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		return "", err
	}
	var document struct {
		Value interface{} `yaml:"value"`
	}
	if err = yaml.Unmarshal(input, &document); err != nil {
		return "", err
	}
	value, err := object(document.Value)
	if err != nil {
		return "", err
	}
	if s, ok := value.(string); ok {
		return s, nil
	}
	out, err := json.Marshal(value)
	return string(out), err
}

func main() {
	out, err := text()
	if err != nil {
		fmt.Print("error: ", err)
		return
	}
	fmt.Print(out)
}
