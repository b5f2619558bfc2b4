import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { PROBLEM_CONTENT_TYPE, Problem } from './problem.js';

/** Documents an error answer as RFC 9457 application/problem+json, as the filter sends it. */
export const ApiProblem = (status: number, description: string) =>
  applyDecorators(
    ApiExtraModels(Problem),
    ApiResponse({
      status,
      description,
      content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: getSchemaPath(Problem) } } },
    }),
  );
