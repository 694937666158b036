"""The organisation library page: encrypted upload as it arrives, streamed download."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt

from interlock.access import Action
from interlock.accounts.requests import principal_of
from interlock.artifacts.access import access_artifact_by_id
from interlock.artifacts.http import download_response, receive_multipart
from interlock.artifacts.parents import resolve_parent
from interlock.artifacts.selectors import artifact_list
from interlock.core.errors import ApplicationError, NotFound
from interlock.web.pages import csrf_failure, member_required


@csrf_exempt
@member_required
def library_view(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    organisation = principal.person.organisation
    if organisation is None:
        raise NotFound
    library_id = str(organisation.uuid)
    error = None
    if request.method == "POST":
        parent = resolve_parent(principal, "library", library_id, Action.ATTACH)
        from interlock.artifacts.upload import EncryptingUploadHandler

        request.upload_handlers = [EncryptingUploadHandler(request, parent=parent)]
        failure = csrf_failure(request)
        if failure is not None:
            return failure
        try:
            artifact = receive_multipart(request, actor=principal, parent=parent)
            messages.success(request, f"{artifact.filename} was encrypted and stored.")
            return redirect("web:library")
        except ApplicationError as problem:
            error = problem.message
    artifacts = artifact_list(principal=principal, parent_type="library", parent_id=library_id)
    return render(
        request, "web/library.html", {"artifacts": artifacts, "error": error}, status=400 if error else 200
    )


@member_required
def library_download_view(request: HttpRequest, artifact_id: str) -> StreamingHttpResponse:
    principal = principal_of(request)
    return download_response(
        actor=principal, artifact=access_artifact_by_id(principal, artifact_id, action=Action.DOWNLOAD)
    )
