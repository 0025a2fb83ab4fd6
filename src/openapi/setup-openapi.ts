import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

import { INVALID_TOKEN_ERROR_CODE } from '../http/service-token.guard';
import {
  OPERATIONS_TAG,
  PROVISIONING_TAG,
  SERVICE_TOKEN_SCHEME,
  SHARED_RESPONSE_HEADERS,
} from './openapi-decorators';

/** The path of Swagger UI, and of the document that it shows. */
export const OPENAPI_UI_PATH = 'api/docs';
export const OPENAPI_JSON_PATH = 'api/docs-json';

/** Scans the application's controllers into an OpenAPI 3.0 document. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.0.3')
    .setTitle('quota-lock-service')
    .setDescription(
      "DRACOON's provisioning API for customers, plus their usage, lock state, allocated users and lock " +
        'history. Integers are written with their exact digits, so read int64 fields with a parser that ' +
        'keeps 64-bit integers.',
    )
    .setVersion('1')
    .addTag(PROVISIONING_TAG, 'Customers, as in DRACOON; every route needs X-Sds-Service-Token.')
    .addTag(OPERATIONS_TAG, 'Probes and metrics; open without a token.')
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'X-Sds-Service-Token',
        description: `One of the configured service tokens; a missing or wrong one gets 401 (${INVALID_TOKEN_ERROR_CODE}).`,
      },
      SERVICE_TOKEN_SCHEME,
    )
    .build();
  config.components = { ...config.components, headers: SHARED_RESPONSE_HEADERS };
  return SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controllerKey, methodKey) => methodKey,
  });
}

/**
 * Serves Swagger UI at `/api/docs` and the document at `/api/docs-json`, both without a token.
 * Call it before `app.listen`. The document is built at once, so a broken decorator stops start-up.
 */
export function setupOpenApi(app: INestApplication): void {
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup(OPENAPI_UI_PATH, app, document, {
    jsonDocumentUrl: OPENAPI_JSON_PATH,
    raw: ['json'],
    customSiteTitle: 'quota-lock-service API',
    // Swagger UI loads a badge from validator.swagger.io whenever it is given the document by URL.
    swaggerOptions: { validatorUrl: null, persistAuthorization: false },
  });
}
