import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { type HtmlResult, showReview, submitReview } from '../core/review';
import { messagePage, REVIEW_PAGE_CSP } from '../core/review-html';
import { reviewDeps } from '../shared/deps';
import { errorResult, header, requestLogger } from '../shared/http';
import type { InvocationContext } from '../shared/logger';

/**
 * The review page behind email links: GET and HEAD show, only the form POST decides. Pages
 * are not cached and not framed, so a shared computer or another site cannot replay them.
 */
const HTML_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': REVIEW_PAGE_CSP,
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
};

function html(result: HtmlResult, includeBody = true): APIGatewayProxyResult {
  return { statusCode: result.status, headers: HTML_HEADERS, body: includeBody ? result.html : '' };
}

export const handler = async (
  event: APIGatewayProxyEvent,
  context?: InvocationContext,
): Promise<APIGatewayProxyResult> => {
  const linkToken = event.pathParameters?.token ?? '';
  const formAction = `./${encodeURIComponent(linkToken)}`;
  try {
    const deps = await reviewDeps();
    switch (event.httpMethod) {
      case 'GET':
        return html(await showReview(deps, linkToken, { recordView: true, formAction }));
      case 'HEAD':
        return html(await showReview(deps, linkToken, { recordView: false, formAction }), false);
      case 'POST': {
        const contentType = header(event, 'content-type') ?? '';
        if (!contentType.startsWith('application/x-www-form-urlencoded')) {
          return html({
            status: 415,
            html: messagePage(
              'Unsupported request',
              'Decide with the buttons on the review page.',
              'err',
            ),
          });
        }
        const raw = event.isBase64Encoded
          ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
          : (event.body ?? '');
        return html(await submitReview(deps, linkToken, new URLSearchParams(raw), formAction));
      }
      default:
        return html({
          status: 405,
          html: messagePage('Not allowed', 'Open the link from your email.', 'err'),
        });
    }
  } catch (error) {
    // The link token is a credential: the logger carries the route and request ids, never the path.
    const result = errorResult(error, requestLogger(event, context));
    return html({
      status: result.statusCode,
      html: messagePage(
        'Something went wrong',
        'Nothing was changed. Please try again in a moment.',
        'err',
      ),
    });
  }
};
