import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Response } from 'express';
import { map, Observable } from 'rxjs';

import { stringifyJson } from '../common/json/lossless-json';

/** Serialises controller results with the lossless codec, so int64 values leave with their exact digits. */
@Injectable()
export class LosslessJsonInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') {
      return next.handle();
    }
    const response = context.switchToHttp().getResponse<Response>();
    return next.handle().pipe(
      map((body: unknown) => {
        if (body === undefined) {
          return body;
        }
        response.type('application/json');
        return stringifyJson(body);
      }),
    );
  }
}
