import { Body, Controller, Delete, Get, Header, HttpCode, Param, Patch, Post, Query, Req, Type } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyRequest } from 'fastify';
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { RequireKey, type KeyRealm } from '../../http/auth/api-key.guard.js';
import { callerIdentities } from '../../http/auth/caller-identity.config.js';
import { callerLabel } from '../../http/auth/caller-identity.js';
import type { AllConfig } from '../../config/env.js';
import { ApiProblem } from '../../common/errors/api-problem.js';
import {
  AttemptDto,
  CreateEndpointDto,
  DeliveriesQuery,
  DeliveryDto,
  DeliveryPageDto,
  DeliveryWithAttemptsDto,
  EndpointDto,
  EndpointPageDto,
  EndpointWithSecretDto,
  RecoverDto,
  RecoveredDto,
  RevealedSecretDto,
  RotatedSecretDto,
  TestSentDto,
  UpdateEndpointDto,
} from './dto/endpoint.dto.js';
import { EndpointsService } from './endpoints.service.js';
import { PageQuery } from '../../common/pagination/page.query.js';
import type { OutboundOwner } from './outbound.entities.js';

export interface EndpointsApi {
  owner: OutboundOwner;
  /** Path prefix of both resources ('' for the shop, 'psp/v1' for the PSP mock). */
  prefix: string;
  realm: KeyRealm;
  tag: string;
}

/**
 * The management API of one owner's outbound webhooks. The shop (admin key) and the
 * PSP mock (its own key, under /psp/v1) mount the same routes over the same engine.
 */
export function endpointsController(api: EndpointsApi): Type<unknown> {
  const at = (path: string) => (api.prefix ? `${api.prefix}/${path}` : path);
  const { owner } = api;

  @ApiTags(api.tag)
  @RequireKey(api.realm)
  @Controller()
  class EndpointsController {
    constructor(
      readonly endpoints: EndpointsService,
      private readonly config: ConfigService<AllConfig, true>,
    ) {}

    @Post(at('webhook-endpoints'))
    @HttpCode(201)
    @Header('cache-control', 'no-store')
    @ApiOperation({
      summary: 'Register a webhook endpoint',
      description:
        'Answers with the endpoint and its signing secret (whsec_…, Standard Webhooks), shown here once: it is stored ' +
        'sealed, and read back only through reveal-secret. The URL is refused (422) when it ' +
        'points at a loopback, private, link-local, metadata or other special-purpose address (IANA registries, ' +
        'multicast, IPv4 in IPv6: mapped, NAT64, 6to4, Teredo) not covered by WEBHOOK_ALLOWED_CIDRS.',
    })
    @ApiCreatedResponse({ type: EndpointWithSecretDto })
    @ApiProblem(400, 'VALIDATION.FAILED')
    @ApiProblem(
      422,
      'WEBHOOK_ENDPOINT.URL_REFUSED | WEBHOOK_ENDPOINT.HTTPS_REQUIRED (http:// while WEBHOOK_HTTPS_ONLY) | WEBHOOK_ENDPOINT.UNKNOWN_EVENT_TYPE (knownTypes in the body)',
    )
    async create(@Body() dto: CreateEndpointDto): Promise<EndpointWithSecretDto> {
      const { endpoint, secret } = await this.endpoints.create(owner, dto);
      return { ...EndpointDto.from(endpoint), secret };
    }

    @Get(at('webhook-endpoints'))
    @HttpCode(200)
    @ApiOperation({ summary: 'List webhook endpoints, oldest first' })
    @ApiOkResponse({ type: EndpointPageDto })
    @ApiProblem(400, 'VALIDATION.FAILED | WEBHOOK_ENDPOINT.INVALID_CURSOR')
    async list(@Query() query: PageQuery): Promise<EndpointPageDto> {
      const page = await this.endpoints.list(owner, query);
      return { data: page.data.map((e) => EndpointDto.from(e)), nextCursor: page.nextCursor };
    }

    @Get(at('webhook-endpoints/:id'))
    @HttpCode(200)
    @ApiOperation({ summary: 'Get a webhook endpoint (status, and the reason when disabled)' })
    @ApiOkResponse({ type: EndpointDto })
    @ApiProblem(404, 'WEBHOOK_ENDPOINT.NOT_FOUND')
    async get(@Param('id') id: string): Promise<EndpointDto> {
      return EndpointDto.from(await this.endpoints.get(owner, id));
    }

    @Patch(at('webhook-endpoints/:id'))
    @HttpCode(200)
    @ApiOperation({
      summary: 'Change a webhook endpoint',
      description:
        'status: enabled re-enables a disabled endpoint; it then gets new messages only (recover re-sends older ones). ' +
        'status: disabled stops deliveries and fails the pending ones.',
    })
    @ApiOkResponse({ type: EndpointDto })
    @ApiProblem(400, 'VALIDATION.FAILED')
    @ApiProblem(404, 'WEBHOOK_ENDPOINT.NOT_FOUND')
    @ApiProblem(409, 'WEBHOOK_ENDPOINT.CALLBACK_FIXED')
    @ApiProblem(
      422,
      'WEBHOOK_ENDPOINT.URL_REFUSED | WEBHOOK_ENDPOINT.HTTPS_REQUIRED (http:// while WEBHOOK_HTTPS_ONLY) | WEBHOOK_ENDPOINT.UNKNOWN_EVENT_TYPE (knownTypes in the body)',
    )
    async update(@Param('id') id: string, @Body() dto: UpdateEndpointDto): Promise<EndpointDto> {
      return EndpointDto.from(await this.endpoints.update(owner, id, dto));
    }

    @Delete(at('webhook-endpoints/:id'))
    @HttpCode(204)
    @ApiOperation({ summary: 'Delete a webhook endpoint with its deliveries and attempts' })
    @ApiNoContentResponse()
    @ApiProblem(404, 'WEBHOOK_ENDPOINT.NOT_FOUND')
    async remove(@Param('id') id: string): Promise<void> {
      await this.endpoints.remove(owner, id);
    }

    @Post(at('webhook-endpoints/:id/rotate-secret'))
    @HttpCode(200)
    @Header('cache-control', 'no-store')
    @ApiOperation({
      summary: 'Rotate the signing secret',
      description:
        'Answers with the new secret (shown here once; stored sealed). During WEBHOOK_ROTATION_GRACE (24 h by default) ' +
        'both secrets sign every message: webhook-signature carries two v1 signatures.',
    })
    @ApiOkResponse({ type: RotatedSecretDto })
    @ApiProblem(404, 'WEBHOOK_ENDPOINT.NOT_FOUND')
    @ApiProblem(409, 'WEBHOOK_ENDPOINT.CALLBACK_FIXED')
    async rotate(@Param('id') id: string): Promise<RotatedSecretDto> {
      const r = await this.endpoints.rotateSecret(owner, id);
      return { secret: r.secret, previousSecretExpiresAt: r.previousSecretExpiresAt.toISOString() };
    }

    @Post(at('webhook-endpoints/:id/reveal-secret'))
    @HttpCode(200)
    @Header('cache-control', 'no-store')
    @ApiOperation({
      summary: 'Reveal the signing secret',
      description:
        'Answers with the current signing secret, and the previous one while it still signs (after a rotation). ' +
        'POST so that nothing caches or prefetches it; every call is logged with the endpoint and the caller ' +
        '(the id of the key that authenticated, as the access log shows it), never the secret.',
    })
    @ApiOkResponse({ type: RevealedSecretDto })
    @ApiProblem(404, 'WEBHOOK_ENDPOINT.NOT_FOUND')
    @ApiProblem(409, 'WEBHOOK_ENDPOINT.CALLBACK_FIXED')
    @ApiProblem(500, 'WEBHOOK_ENDPOINT.SECRET_UNREADABLE (SEALING_KEYS does not open the stored secret)')
    async revealSecret(@Param('id') id: string, @Req() req: FastifyRequest): Promise<RevealedSecretDto> {
      // The caller as the access log names it, so the audit line and the request's line match.
      const r = await this.endpoints.revealSecret(owner, id, callerLabel(callerIdentities(this.config).resolve(req)));
      return {
        secret: r.secret,
        ...(r.previousSecret
          ? { previousSecret: r.previousSecret, previousSecretExpiresAt: r.previousSecretExpiresAt!.toISOString() }
          : {}),
      };
    }

    @Post(at('webhook-endpoints/:id/test'))
    @HttpCode(202)
    @ApiOperation({ summary: 'Send a webhook.test message to this endpoint' })
    @ApiAcceptedResponse({ type: TestSentDto })
    @ApiProblem(404, 'WEBHOOK_ENDPOINT.NOT_FOUND')
    @ApiProblem(409, 'WEBHOOK_ENDPOINT.DISABLED')
    sendTest(@Param('id') id: string): Promise<TestSentDto> {
      return this.endpoints.sendTest(owner, id);
    }

    @Get(at('webhook-endpoints/:id/deliveries'))
    @HttpCode(200)
    @ApiOperation({ summary: "The endpoint's deliveries, newest first, optionally by status" })
    @ApiOkResponse({ type: DeliveryPageDto })
    @ApiProblem(400, 'VALIDATION.FAILED | WEBHOOK_DELIVERY.INVALID_CURSOR')
    @ApiProblem(404, 'WEBHOOK_ENDPOINT.NOT_FOUND')
    async deliveries(@Param('id') id: string, @Query() query: DeliveriesQuery): Promise<DeliveryPageDto> {
      const page = await this.endpoints.deliveries(owner, id, query);
      return { data: page.data.map((d) => DeliveryDto.from(d)), nextCursor: page.nextCursor };
    }

    @Post(at('webhook-endpoints/:id/recover'))
    @HttpCode(202)
    @ApiOperation({
      summary: 'Re-send the failed deliveries since a time',
      description: 'Every delivery of this endpoint that failed and was created at or after `since` is sent again.',
    })
    @ApiAcceptedResponse({ type: RecoveredDto })
    @ApiProblem(400, 'VALIDATION.FAILED')
    @ApiProblem(404, 'WEBHOOK_ENDPOINT.NOT_FOUND')
    @ApiProblem(409, 'WEBHOOK_ENDPOINT.DISABLED')
    async recover(@Param('id') id: string, @Body() dto: RecoverDto): Promise<RecoveredDto> {
      return { recovered: await this.endpoints.recover(owner, id, new Date(dto.since)) };
    }

    @Get(at('webhook-deliveries/:id'))
    @HttpCode(200)
    @ApiOperation({ summary: 'A delivery with the message body and every attempt' })
    @ApiOkResponse({ type: DeliveryWithAttemptsDto })
    @ApiProblem(404, 'WEBHOOK_DELIVERY.NOT_FOUND')
    async delivery(@Param('id') id: string): Promise<DeliveryWithAttemptsDto> {
      const { delivery, attempts } = await this.endpoints.delivery(owner, id);
      return {
        ...DeliveryDto.from(delivery),
        payload: delivery.message.payload,
        attemptHistory: attempts.map((a) => AttemptDto.from(a)),
      };
    }

    @Post(at('webhook-deliveries/:id/retry'))
    @HttpCode(202)
    @ApiOperation({
      summary: 'Send a delivery again now',
      description: 'Failed, succeeded or waiting: it is attempted at once, with a new series of retries if that fails.',
    })
    @ApiAcceptedResponse({ type: DeliveryDto })
    @ApiProblem(404, 'WEBHOOK_DELIVERY.NOT_FOUND')
    @ApiProblem(409, 'WEBHOOK_ENDPOINT.DISABLED')
    async retry(@Param('id') id: string): Promise<DeliveryDto> {
      return DeliveryDto.from(await this.endpoints.retry(owner, id));
    }
  }
  Object.defineProperty(EndpointsController, 'name', {
    value: `${owner === 'shop' ? 'Shop' : 'Psp'}EndpointsController`,
  });
  return EndpointsController;
}

/** The shop's: merchants register endpoints for order.* events (admin key). */
export const WebhookEndpointsController = endpointsController({
  owner: 'shop',
  prefix: '',
  realm: 'admin',
  tag: 'webhook-endpoints',
});

/** The PSP mock's: endpoints that get every payment event, besides each payment's callback_url. */
export const PspWebhookEndpointsController = endpointsController({
  owner: 'psp',
  prefix: 'psp/v1',
  realm: 'psp',
  tag: 'psp-mock',
});
