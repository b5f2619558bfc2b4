import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { DomainError } from './domain-error.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** RFC 9457 problem details, plus Hookline's stable `code`. */
export class Problem {
  @ApiProperty({ example: 'https://hookline.dev/problems/order-not-found' })
  type: string;
  @ApiProperty({ example: 'Order not found' })
  title: string;
  @ApiProperty({ example: 404 })
  status: number;
  @ApiPropertyOptional({ example: 'No order with id 3f0c….' })
  detail?: string;
  @ApiProperty({ example: 'ORDER.NOT_FOUND', description: 'Stable machine-readable error code' })
  code: string;
  @ApiPropertyOptional({ example: '/orders/3f0c…' })
  instance?: string;
  @ApiPropertyOptional({ description: 'Per-field validation errors (VALIDATION.FAILED only)' })
  errors?: { field: string; messages: string[] }[];
}

export function problemType(code: string): string {
  return `https://hookline.dev/problems/${code.toLowerCase().replace(/[._]/g, '-')}`;
}

export function domainProblem(error: DomainError, instance?: string): Problem {
  return {
    type: problemType(error.code),
    title: error.title,
    status: error.status,
    detail: error.message,
    code: error.code,
    ...error.extra,
    ...(instance ? { instance } : {}),
  };
}
