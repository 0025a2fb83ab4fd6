import type { INestApplication } from '@nestjs/common';
import type { OpenAPIObject, OperationObject, ParameterObject, SchemaObject } from '@nestjs/swagger';
import { Test } from '@nestjs/testing';

import { APP_CONFIG } from '../config/app-config';
import { CustomerAttributesController } from '../customers/customer-attributes.controller';
import { CustomerRecordsController } from '../customers/customer-records.controller';
import { CustomersController } from '../customers/customers.controller';
import { CUSTOMER_LIST } from '../customers/list-query-specs';
import { HealthController } from '../health/health.controller';
import { buildOpenApiDocument } from './setup-openapi';

const CUSTOMERS = '/api/v4/provisioning/customers';
const CUSTOMER = `${CUSTOMERS}/{customer_id}`;
const ATTRIBUTES = `${CUSTOMER}/customerAttributes`;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

interface Operation {
  method: string;
  path: string;
  operation: OperationObject;
}

/** Builds the document from the controllers alone, with stand-ins that scanning never calls. */
async function documentOfControllers(): Promise<{ app: INestApplication; document: OpenAPIObject }> {
  const moduleRef = await Test.createTestingModule({
    controllers: [
      CustomersController,
      CustomerAttributesController,
      CustomerRecordsController,
      HealthController,
    ],
  })
    .useMocker((token) => (token === APP_CONFIG ? { serviceTokens: [] } : {}))
    .compile();
  const app = moduleRef.createNestApplication({ logger: false });
  return { app, document: buildOpenApiDocument(app) };
}

function operationsOf(document: OpenAPIObject): Operation[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method] !== undefined).map((method) => ({
      method: method.toUpperCase(),
      path,
      operation: item[method] as OperationObject,
    })),
  );
}

function label({ method, path }: Operation): string {
  return `${method} ${path}`;
}

function headerNames(operation: OperationObject): string[] {
  return ((operation.parameters ?? []) as ParameterObject[])
    .filter((parameter) => parameter.in === 'header')
    .map((parameter) => parameter.name);
}

function queryParameter(operation: OperationObject, name: string): ParameterObject | undefined {
  return ((operation.parameters ?? []) as ParameterObject[]).find(
    (parameter) => parameter.in === 'query' && parameter.name === name,
  );
}

describe('OpenAPI document builder', () => {
  let app: INestApplication;
  let document: OpenAPIObject;
  let operations: Operation[];
  let provisioning: Operation[];

  beforeAll(async () => {
    ({ app, document } = await documentOfControllers());
    operations = operationsOf(document);
    provisioning = operations.filter((entry) => entry.path.startsWith('/api/v4/'));
  });

  afterAll(() => app.close());

  function operation(method: string, path: string): OperationObject {
    const found = operations.find((entry) => entry.method === method && entry.path === path);
    if (!found) {
      throw new Error(`the document has no ${method} ${path}`);
    }
    return found.operation;
  }

  function schema(name: string): SchemaObject {
    const found = document.components?.schemas?.[name] as SchemaObject | undefined;
    if (!found) {
      throw new Error(`the document has no schema ${name}`);
    }
    return found;
  }

  it('names the service token scheme', () => {
    expect(document.components?.securitySchemes?.['X-Sds-Service-Token']).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'X-Sds-Service-Token',
    });
  });

  it('requires the token on provisioning', () => {
    const open = provisioning
      .filter(({ operation }) => !JSON.stringify(operation.security).includes('"X-Sds-Service-Token"'))
      .map(label);

    expect(open).toEqual([]);
  });

  it('leaves probes and metrics open', () => {
    const secured = operations
      .filter((entry) => !entry.path.startsWith('/api/v4/') && entry.operation.security !== undefined)
      .map(label);

    expect(secured).toEqual([]);
  });

  it('tags provisioning routes provisioning', () => {
    const untagged = provisioning
      .filter(({ operation }) => !operation.tags?.includes('provisioning'))
      .map(label);

    expect(untagged).toEqual([]);
  });

  it('documents edge errors on provisioning', () => {
    const missing = provisioning.flatMap((entry) =>
      ['400', '401', '404', '406', '429', '500']
        .filter(
          (status) =>
            !JSON.stringify(entry.operation.responses[status] ?? {}).includes(
              '"#/components/schemas/ErrorResponse"',
            ),
        )
        .map((status) => `${label(entry)} ${status}`),
    );

    expect(missing).toEqual([]);
  });

  it('documents 413 and 415 for bodies', () => {
    const withBody = provisioning.filter((entry) => entry.method === 'POST' || entry.method === 'PUT');
    const missing = withBody.flatMap((entry) =>
      ['413', '415']
        .filter((status) => !entry.operation.responses[status])
        .map((status) => `${label(entry)} ${status}`),
    );

    expect(withBody).toHaveLength(4);
    expect(missing).toEqual([]);
  });

  it('documents Retry-After on 429', () => {
    const response = operation('GET', CUSTOMER).responses['429'] as { headers?: Record<string, unknown> };

    expect(Object.keys(response.headers ?? {})).toContain('Retry-After');
  });

  it('documents Idempotency-Key and 409 on create', () => {
    const create = operation('POST', CUSTOMERS);

    expect(headerNames(create)).toContain('Idempotency-Key');
    expect(create.responses['409']).toBeDefined();
  });

  it('offers X-Request-Id on every provisioning route', () => {
    const missing = provisioning
      .filter(({ operation }) => !headerNames(operation).includes('X-Request-Id'))
      .map(label);

    expect(missing).toEqual([]);
  });

  it('takes X-Sds-Date-Format where DRACOON does', () => {
    const withDateFormat = provisioning
      .filter(({ operation }) => headerNames(operation).includes('X-Sds-Date-Format'))
      .map(label)
      .sort();

    expect(withDateFormat).toEqual(
      [
        `GET ${CUSTOMERS}`,
        `POST ${CUSTOMERS}`,
        `GET ${CUSTOMER}`,
        `PUT ${CUSTOMER}`,
        `POST ${ATTRIBUTES}`,
        `PUT ${ATTRIBUTES}`,
        `GET ${CUSTOMER}/users`,
        `GET ${CUSTOMER}/lockHistory`,
      ].sort(),
    );
  });

  it('caps the customer list limit at 500', () => {
    expect(queryParameter(operation('GET', CUSTOMERS), 'limit')?.schema).toMatchObject({ maximum: 500 });
  });

  it('lists every customer list query parameter', () => {
    const names = ['offset', 'limit', 'filter', 'sort', 'include_attributes'];

    expect(names.filter((name) => !queryParameter(operation('GET', CUSTOMERS), name))).toEqual([]);
  });

  it('names every filter field in its description', () => {
    const description = queryParameter(operation('GET', CUSTOMERS), 'filter')?.description ?? '';
    const missing = [...CUSTOMER_LIST.filter.fields.keys()].filter(
      (field) => !description.includes(`${field} (`),
    );

    expect(missing).toEqual([]);
  });

  it('marks setCustomerAttributes deprecated', () => {
    expect(operation('POST', ATTRIBUTES)).toMatchObject({
      operationId: 'setCustomerAttributes',
      deprecated: true,
    });
  });

  it('puts lock fields in customer models', () => {
    const lacking = ['Customer', 'NewCustomerResponse', 'UpdateCustomerResponse'].filter((name) => {
      const properties = schema(name).properties ?? {};
      const reasons = properties.lockReasons as SchemaObject | undefined;
      const version = properties.lockVersion as SchemaObject | undefined;
      return (
        JSON.stringify(reasons?.items) !==
          JSON.stringify({ type: 'string', enum: ['ADMIN', 'QUOTA_EXCEEDED', 'USER_LIMIT_EXCEEDED'] }) ||
        version?.format !== 'int64' ||
        !schema(name).required?.includes('lockVersion')
      );
    });

    expect(lacking).toEqual([]);
  });

  it('allows a null ErrorResponse errorCode', () => {
    expect(schema('ErrorResponse').properties?.errorCode).toMatchObject({
      type: 'integer',
      format: 'int32',
      nullable: true,
    });
  });

  it('lists the lock history entry fields', () => {
    expect(Object.keys(schema('LockHistoryEntry').properties ?? {}).sort()).toEqual(
      [
        'id',
        'change',
        'reason',
        'reasonsBefore',
        'reasonsAfter',
        'isLocked',
        'lockVersion',
        'eventType',
        'eventId',
        'actor',
        'causationId',
        'comment',
        'occurredAt',
      ].sort(),
    );
  });

  it('gives each operation a unique id', () => {
    const ids = operations.map(({ operation }) => operation.operationId);

    expect(new Set(ids).size).toBe(ids.length);
  });
});
