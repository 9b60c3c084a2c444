import Ajv, { type ValidateFunction } from 'ajv';

interface LightMyRequestResponse {
  statusCode: number;
  body: string;
  headers: Record<string, unknown>;
}

function pointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Checks responses against the OpenAPI document the gateway serves (not against the route code):
 * status must be declared for the operation, and a JSON body must match its schema.
 */
export class OpenApiValidator {
  private readonly ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  private readonly cache = new Map<string, ValidateFunction>();

  constructor(private readonly document: Record<string, unknown>) {
    this.ajv.addSchema({ ...document, $id: 'openapi' });
  }

  /** `template` as in the document, e.g. `/v1/articles/{idOrSlug}`. */
  check(method: string, template: string, response: LightMyRequestResponse): void {
    const paths = this.document.paths as Record<
      string,
      Record<string, { responses?: Record<string, { content?: Record<string, unknown> }> }>
    >;
    const operation = paths[template]?.[method.toLowerCase()];
    if (!operation) throw new Error(`${method} ${template} is not in the OpenAPI document`);
    const declared = operation.responses?.[String(response.statusCode)];
    if (!declared)
      throw new Error(
        `${method} ${template} answered ${response.statusCode}, not declared: ${response.body}`,
      );
    const json = declared.content?.['application/json'];
    if (!json || response.body === '') return;
    const ref = `openapi#/paths/${pointer(template)}/${method.toLowerCase()}/responses/${response.statusCode}/content/application~1json/schema`;
    let validate = this.cache.get(ref);
    if (!validate) {
      validate = this.ajv.compile({ $ref: ref });
      this.cache.set(ref, validate);
    }
    const body: unknown = JSON.parse(response.body);
    if (!validate(body)) {
      throw new Error(
        `${method} ${template} ${response.statusCode} body does not match: ${this.ajv.errorsText(validate.errors)} in ${response.body}`,
      );
    }
  }
}
