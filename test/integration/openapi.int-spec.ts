import SwaggerParser from '@apidevtools/swagger-parser';

import { userAllocated } from '../support/events';
import { eventually, request, type HttpResult } from '../support/http';
import { ServiceFixture } from '../support/service-fixture';
import { ServiceProcess } from '../support/service-process';

type Json = Record<string, unknown>;
interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  allOf?: Schema[];
  oneOf?: Schema[];
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, { operationId?: string; parameters?: Json[] }>>;
  components: { schemas: Record<string, Schema> };
}

const CUSTOMERS = '/api/v4/provisioning/customers';
const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

/** DRACOON's ten customer endpoints with their operationIds, under this service's `/api` base path. */
const DRACOON_ROUTES: Record<string, string> = {
  [`GET ${CUSTOMERS}`]: 'requestCustomers',
  [`POST ${CUSTOMERS}`]: 'createCustomer',
  [`GET ${CUSTOMERS}/{customer_id}`]: 'requestCustomer',
  [`PUT ${CUSTOMERS}/{customer_id}`]: 'updateCustomer',
  [`DELETE ${CUSTOMERS}/{customer_id}`]: 'removeCustomer',
  [`GET ${CUSTOMERS}/{customer_id}/customerAttributes`]: 'requestCustomerAttributes',
  [`POST ${CUSTOMERS}/{customer_id}/customerAttributes`]: 'setCustomerAttributes',
  [`PUT ${CUSTOMERS}/{customer_id}/customerAttributes`]: 'updateCustomerAttributes',
  [`DELETE ${CUSTOMERS}/{customer_id}/customerAttributes/{key}`]: 'removeCustomerAttribute',
  [`GET ${CUSTOMERS}/{customer_id}/users`]: 'requestCustomerUsers',
};

const INT64_FIELDS: Record<string, string[]> = {
  Customer: ['id', 'quotaMax', 'quotaUsed', 'lockVersion', 'webhooksMax'],
  NewCustomerRequest: ['quotaMax', 'webhooksMax'],
  NewCustomerResponse: ['id', 'quotaMax', 'lockVersion', 'webhooksMax'],
  UpdateCustomerRequest: ['quotaMax', 'webhooksMax'],
  UpdateCustomerResponse: ['id', 'quotaMax', 'lockVersion', 'webhooksMax'],
  Range: ['offset', 'limit', 'total'],
  LockHistoryEntry: ['id', 'lockVersion'],
};

const INT32_FIELDS: Record<string, string[]> = {
  Customer: ['userMax', 'userUsed', 'cntInternalUser', 'cntGuestUser', 'trialDaysLeft'],
  NewCustomerRequest: ['userMax', 'trialDays'],
  NewCustomerResponse: ['userMax', 'trialDays'],
  UpdateCustomerRequest: ['userMax'],
  UpdateCustomerResponse: ['userMax', 'trialDays'],
  ErrorResponse: ['code', 'errorCode'],
};

/** Lists "METHOD /path/{param}" for each route that Nest's RouterExplorer logged as mapped at start-up. */
function mappedRoutes(service: ServiceProcess): string[] {
  return service.logs.flatMap((line) => {
    const match = /^Mapped \{(\S+), ([A-Z]+)\} route$/.exec(line.msg);
    return line.context === 'RouterExplorer' && match
      ? [`${match[2]} ${match[1].replace(/:(\w+)/g, '{$1}')}`]
      : [];
  });
}

function documentedRoutes(document: Document): string[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((method) => HTTP_METHODS.has(method))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );
}

function formatsOf(document: Document, fields: Record<string, string[]>, format: string): string[] {
  return Object.entries(fields).flatMap(([name, properties]) =>
    properties
      .filter((property) => {
        const schema = document.components.schemas[name]?.properties?.[property];
        return schema?.type !== 'integer' || schema.format !== format;
      })
      .map((property) => `${name}.${property}`),
  );
}

function resolve(document: Document, schema: Schema): Schema {
  const ref = schema.$ref ?? schema.allOf?.[0]?.$ref;
  return ref ? document.components.schemas[ref.replace('#/components/schemas/', '')] : schema;
}

/**
 * Lists where a live JSON value departs from its schema: keys the schema does not name, and required
 * keys that are missing. It checks nested objects and the first item of each array too.
 */
function drift(document: Document, value: unknown, schema: Schema, at: string): string[] {
  const resolved = resolve(document, schema);
  if (Array.isArray(value)) {
    return value.length > 0 && resolved.items ? drift(document, value[0], resolved.items, `${at}[0]`) : [];
  }
  if (typeof value !== 'object' || value === null || !resolved.properties) {
    return [];
  }
  const properties = resolved.properties;
  const object = value as Json;
  return [
    ...Object.keys(object)
      .filter((key) => !(key in properties))
      .map((key) => `${at}.${key} is not documented`),
    ...(resolved.required ?? []).filter((key) => !(key in object)).map((key) => `${at}.${key} is missing`),
    ...Object.keys(object)
      .filter((key) => key in properties)
      .flatMap((key) => drift(document, object[key], properties[key], `${at}.${key}`)),
  ];
}

describe('OpenAPI document and Swagger UI', () => {
  const fixture = new ServiceFixture('openapi');
  let service: ServiceProcess;
  let served: HttpResult;
  let document: Document;

  beforeAll(async () => {
    await fixture.setUp();
    service = await fixture.start();
    served = await request(service.baseUrl, 'GET', '/api/docs-json', { token: null });
    document = JSON.parse(served.text) as Document;
  });

  afterAll(() => fixture.tearDown());

  it('serves the document without token', () => {
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toMatch(/^application\/json/);
    expect(document.openapi).toBe('3.0.3');
  });

  it('documents every mapped route', () => {
    const documented = new Set(documentedRoutes(document));
    const undocumented = mappedRoutes(service).filter((route) => !documented.has(route));

    expect(undocumented).toEqual([]);
  });

  it('documents only mapped routes', () => {
    const mapped = new Set(mappedRoutes(service));
    const unmapped = documentedRoutes(document).filter((route) => !mapped.has(route));

    expect(unmapped).toEqual([]);
  });

  it("lists DRACOON's ten customer routes", () => {
    const operationIds = Object.fromEntries(
      Object.keys(DRACOON_ROUTES).map((route) => {
        const [method, path] = route.split(' ');
        return [route, document.paths[path]?.[method.toLowerCase()]?.operationId];
      }),
    );

    expect(operationIds).toEqual(DRACOON_ROUTES);
  });

  it('declares int64 fields as int64', () => {
    expect(formatsOf(document, INT64_FIELDS, 'int64')).toEqual([]);
  });

  it('declares int32 fields as int32', () => {
    expect(formatsOf(document, INT32_FIELDS, 'int32')).toEqual([]);
  });

  it('declares customer_id as int64', () => {
    const wrong = Object.entries(document.paths)
      .filter(([path]) => path.includes('{customer_id}'))
      .flatMap(([path, item]) =>
        Object.entries(item)
          .filter(([, operation]) => {
            const parameter = operation.parameters?.find((candidate) => candidate.name === 'customer_id');
            return (
              JSON.stringify((parameter as { schema?: unknown } | undefined)?.schema) !==
              JSON.stringify({ type: 'integer', format: 'int64', minimum: 1 })
            );
          })
          .map(([method]) => `${method} ${path}`),
      );

    expect(wrong).toEqual([]);
  });

  it('passes OpenAPI 3 schema validation', async () => {
    // The validator dereferences in place, so it gets a copy of its own.
    const copy = JSON.parse(served.text) as Parameters<typeof SwaggerParser.validate>[0];

    await expect(SwaggerParser.validate(copy)).resolves.toMatchObject({ openapi: '3.0.3' });
  });

  it('serves Swagger UI without token', async () => {
    const page = await fetch(`${service.baseUrl}/api/docs`, { headers: { Accept: 'text/html' } });
    const html = await page.text();

    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html).toContain('swagger-ui-bundle.js');
  });

  it('serves Swagger UI assets without token', async () => {
    const html = await (await fetch(`${service.baseUrl}/api/docs`)).text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
    const statuses: Record<string, number> = {};
    for (const asset of assets) {
      const url = new URL(asset, `${service.baseUrl}/api/docs`);
      statuses[url.pathname] = (await fetch(url)).status;
    }

    expect(assets.length).toBeGreaterThanOrEqual(4);
    expect(Object.entries(statuses).filter(([, status]) => status !== 200)).toEqual([]);
  });

  it('embeds the document in Swagger UI', async () => {
    const script = await fetch(`${service.baseUrl}/api/docs/swagger-ui-init.js`);
    const text = await script.text();

    expect(script.status).toBe(200);
    expect(text).toContain('"operationId": "requestCustomers"');
  });

  it('turns off the online validator', async () => {
    const text = await (await fetch(`${service.baseUrl}/api/docs/swagger-ui-init.js`)).text();

    expect(text).toContain('"validatorUrl": null');
  });

  it('documents every field the service sends', async () => {
    const schemas = document.components.schemas;
    const created = await request(service.baseUrl, 'POST', CUSTOMERS, {
      body:
        '{"customerContractType":"pay","companyName":"Docs Co","quotaMax":1048576,"userMax":5,' +
        '"firstAdminUser":{"firstName":"Ann","lastName":"Lee","password":"x"},' +
        '"customerAttributes":{"items":[{"key":"region","value":"eu"}]}}',
    });
    const id = String(created.body.id);
    const customerPath = `${CUSTOMERS}/${id}`;
    const updated = await request(service.baseUrl, 'PUT', customerPath, { body: { isLocked: true } });
    await fixture.kafka.send(fixture.kafka.topics.users, [userAllocated(id, 'user-1')]);
    const users = await eventually(async () => {
      const result = await request(service.baseUrl, 'GET', `${customerPath}/users`);
      return (result.body.items as unknown[]).length > 0 ? result : undefined;
    });
    const bodies: [string, HttpResult][] = [
      ['NewCustomerResponse', created],
      ['UpdateCustomerResponse', updated],
      ['Customer', await request(service.baseUrl, 'GET', `${customerPath}?include_attributes=true`)],
      ['CustomerList', await request(service.baseUrl, 'GET', `${CUSTOMERS}?include_attributes=true`)],
      ['AttributesResponse', await request(service.baseUrl, 'GET', `${customerPath}/customerAttributes`)],
      ['UserList', users],
      ['LockHistoryList', await request(service.baseUrl, 'GET', `${customerPath}/lockHistory`)],
      ['ErrorResponse', await request(service.baseUrl, 'GET', customerPath, { token: null })],
    ];

    const problems = bodies.flatMap(([name, result]) => drift(document, result.body, schemas[name], name));

    expect(bodies.map(([name, result]) => `${name} ${result.status}`)).toEqual([
      'NewCustomerResponse 201',
      'UpdateCustomerResponse 200',
      'Customer 200',
      'CustomerList 200',
      'AttributesResponse 200',
      'UserList 200',
      'LockHistoryList 200',
      'ErrorResponse 401',
    ]);
    expect(problems).toEqual([]);
  });
});
