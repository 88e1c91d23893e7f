package main

import "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

// typesKey is one element of a DynamoDB key schema.
type typesKey struct {
	name string
	hash bool
}

func keySchema(ks []types.KeySchemaElement) []typesKey {
	out := make([]typesKey, 0, len(ks))
	for _, k := range ks {
		out = append(out, typesKey{name: *k.AttributeName, hash: k.KeyType == types.KeyTypeHash})
	}
	return out
}
