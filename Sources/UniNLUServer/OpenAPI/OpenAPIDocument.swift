// The OpenAPI 3.1 description of the HTTP API, served at GET /openapi.json. Kept as a string so the
// one binary carries it; OpenAPIDocumentTests checks its paths and methods against the router's
// real routes and that it parses.

enum OpenAPIDocument {
    /// The error responses of both predict routes, by status, one `"status": {"$ref": …}` line each.
    private static let predictErrorResponses = [
        ("400", "Error"), ("413", "Error"), ("415", "Error"), ("422", "Error"), ("429", "Overloaded"),
        ("500", "Error"), ("503", "Error"), ("504", "Error"),
    ].map { ##""\##($0.0)": {"$ref": "#/components/responses/\##($0.1)"}"## }.joined(separator: ",\n          ")

    static let json = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "UniNLU",
    "version": "0.1.0",
    "description": "Zero-shot Chinese NLU (SiameseUIE; RexUniNLU later) with cross-request batching. Errors are JSON: {\"error\": message, \"error_type\": kind, \"limit\": flag (when a limit was hit)}."
  },
  "paths": {
    "/predict": {
      "post": {
        "summary": "Extract spans for one text and schema",
        "operationId": "predict",
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PredictRequest"}}}
        },
        "responses": {
          "200": {
            "description": "The upstream output and the time taken",
            "headers": {
              "x-request-id": {"$ref": "#/components/headers/RequestID"},
              "x-total-time": {"$ref": "#/components/headers/TotalTime"},
              "x-queue-time": {"$ref": "#/components/headers/QueueTime"},
              "x-inference-time": {"$ref": "#/components/headers/InferenceTime"},
              "x-tokenization-time": {"$ref": "#/components/headers/TokenizationTime"}
            },
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PredictResponse"}}}
          },
          \#(predictErrorResponses)
        }
      }
    },
    "/predict/batch": {
      "post": {
        "summary": "Extract spans for many texts: one schema for all, or one each",
        "operationId": "predictBatch",
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchPredictRequest"}}}
        },
        "responses": {
          "200": {
            "description": "One output per text, in input order",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchPredictResponse"}}}
          },
          \#(predictErrorResponses)
        }
      }
    },
    "/health": {
      "get": {
        "summary": "Liveness: the process is up and answering",
        "operationId": "health",
        "responses": {
          "200": {"description": "Alive", "content": {"application/json": {"schema": {"type": "object", "properties": {"status": {"const": "ok"}}}}}}
        }
      }
    },
    "/ready": {
      "get": {
        "summary": "Readiness: model loaded, warmed up with a real forward, last forward succeeded",
        "operationId": "ready",
        "responses": {
          "200": {"description": "Ready", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ready"}}}},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/metrics": {
      "get": {
        "summary": "Prometheus metrics (text exposition format 0.0.4)",
        "operationId": "metrics",
        "responses": {"200": {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}}
      }
    },
    "/openapi.json": {
      "get": {
        "summary": "This document",
        "operationId": "openapi",
        "responses": {"200": {"description": "OpenAPI 3.1 document", "content": {"application/json": {"schema": {"type": "object"}}}}}
      }
    }
  },
  "components": {
    "headers": {
      "RequestID": {"description": "The request id (the client's, if it sent a sane one)", "schema": {"type": "string"}},
      "TotalTime": {"description": "Milliseconds from admission to answer", "schema": {"type": "string"}},
      "QueueTime": {"description": "Milliseconds waiting in the batch queue", "schema": {"type": "string"}},
      "InferenceTime": {"description": "Milliseconds inside engine forwards", "schema": {"type": "string"}},
      "TokenizationTime": {"description": "Milliseconds in the pipeline outside the engine (tokenization, windowing, decoding)", "schema": {"type": "string"}}
    },
    "schemas": {
      "Schema": {
        "description": "A nested schema: label -> null (leaf) or an object of sub-labels. Key order is output order. A list of labels, or a JSON string of either, is accepted too.",
        "oneOf": [
          {"type": "object", "additionalProperties": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Schema"}]}},
          {"type": "array", "items": {"type": "string"}},
          {"type": "string"}
        ]
      },
      "PredictRequest": {
        "type": "object",
        "required": ["text"],
        "properties": {
          "text": {"type": "string", "description": "At most --max-text-length code points"},
          "labels": {"type": "array", "items": {"type": "string"}, "description": "A flat schema; give this or schema"},
          "schema": {"$ref": "#/components/schemas/Schema"},
          "output_all_prefix": {"type": "boolean", "default": false}
        }
      },
      "BatchPredictRequest": {
        "type": "object",
        "description": "Either texts with one labels/schema, or inputs with one each; at most --max-batch-texts texts",
        "properties": {
          "texts": {"type": "array", "items": {"type": "string"}},
          "labels": {"type": "array", "items": {"type": "string"}},
          "schema": {"$ref": "#/components/schemas/Schema"},
          "inputs": {"type": "array", "items": {"$ref": "#/components/schemas/PredictRequest"}},
          "output_all_prefix": {"type": "boolean", "default": false}
        }
      },
      "Span": {
        "type": "object",
        "required": ["type", "span", "offset"],
        "properties": {
          "type": {"type": "string"},
          "span": {"type": "string"},
          "offset": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2, "description": "Half-open, in Unicode code points"}
        }
      },
      "Output": {
        "type": "object",
        "required": ["output"],
        "properties": {"output": {"type": "array", "items": {"type": "array", "items": {"$ref": "#/components/schemas/Span"}}}}
      },
      "PredictResponse": {
        "type": "object",
        "required": ["result", "inference_time"],
        "properties": {"result": {"$ref": "#/components/schemas/Output"}, "inference_time": {"type": "number", "description": "Seconds"}}
      },
      "BatchPredictResponse": {
        "type": "object",
        "required": ["results", "inference_time"],
        "properties": {
          "results": {"type": "array", "items": {"$ref": "#/components/schemas/Output"}},
          "inference_time": {"type": "number", "description": "Seconds"}
        }
      },
      "Ready": {
        "type": "object",
        "properties": {
          "status": {"const": "ready"},
          "model": {
            "type": "object",
            "properties": {
              "family": {"type": "string"}, "backend": {"type": "string"},
              "precision": {"type": "string"}, "replicas": {"type": "integer"},
              "devices": {"type": "array", "items": {"type": "integer"}, "description": "CUDA device of each replica; empty on the CPU backend"}
            }
          }
        }
      },
      "Error": {
        "type": "object",
        "required": ["error", "error_type"],
        "properties": {
          "error": {"type": "string"},
          "error_type": {
            "enum": ["limit_exceeded", "unsupported_media_type", "invalid_utf8", "invalid_json", "invalid_request",
                     "invalid_schema", "overloaded", "deadline_exceeded", "shutting_down", "not_ready", "not_found",
                     "engine", "internal"]
          },
          "limit": {"type": "string", "description": "The flag of the limit that was hit"}
        }
      }
    },
    "responses": {
      "Error": {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Overloaded": {
        "description": "At capacity (--max-concurrent-requests)",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
      }
    }
  }
}
"""#
}
