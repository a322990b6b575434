"""Workspaces, projects and workflows."""

from __future__ import annotations

import secrets
from typing import Any

from nexus_async.emulator import ids
from nexus_async.emulator.errors import bad_request, not_found
from nexus_async.emulator.state.base import StateBase, require_str
from nexus_async.emulator.state.models import Project, Workflow, Workspace

PROJECT_TYPES = ("ObjectDetection", "InstanceSegmentation", "Classification", "Keypoint", "RGBD")
BUILTIN_STATUSES = ("None", "Annotated", "Review", "Completed", "Tofix")


class WorkspaceMixin(StateBase):
    """Workspaces, projects and workflows."""

    def create_workspace(
        self,
        *,
        secret_key: str | None = None,
        name: str = "Emulator Workspace",
        workspace_id: str | None = None,
        tier: str = "Developer",
    ) -> Workspace:
        """Create a workspace opened by ``secret_key`` (generated when omitted)."""
        key = secret_key or secrets.token_urlsafe(24)
        if key in self.store.workspace_by_key:
            raise bad_request("secret key already in use")
        if workspace_id is not None and workspace_id in self.store.workspaces:
            raise bad_request(f"workspace {workspace_id} already exists")
        workspace = Workspace(
            id=workspace_id or ids.workspace_id(),
            name=name,
            owner=ids.user_id(),
            tier=tier,
            create_date=self.now(),
            secret_key=key,
        )
        self.store.workspaces[workspace.id] = workspace
        self.store.workspace_by_key[key] = workspace.id
        return workspace

    def create_project(
        self,
        workspace_id: str,
        *,
        name: str = "Emulator Project",
        project_type: str = "ObjectDetection",
        project_id: str | None = None,
        tags: list[str] | None = None,
        groups: list[str] | None = None,
        custom_statuses: list[str] | None = None,
    ) -> Project:
        """Create a project in a workspace."""
        if project_type not in PROJECT_TYPES:
            raise bad_request(f"project type must be one of {', '.join(PROJECT_TYPES)}")
        if workspace_id not in self.store.workspaces:
            raise not_found("Workspace")
        pid = project_id or ids.project_id()
        if not pid.startswith("proj_"):
            pid = "proj_" + pid
        if pid in self.store.projects:
            raise bad_request(f"project {pid} already exists")
        project = Project(
            id=pid,
            workspace_id=workspace_id,
            name=name,
            type=project_type,
            create_date=self.now(),
            groups=list(groups or []),
            custom_statuses=list(custom_statuses or []),
        )
        for tag in tags or []:
            self.ensure_tag(project, tag)
        self.store.projects[pid] = project
        return project

    def ensure_tag(self, project: Project, tag: str) -> str:
        """Return the ontology id of ``tag``, creating the tag when new."""
        ontology = project.tags.get(tag)
        if ontology is None:
            ontology = ids.uuid_id("ontology_")
            project.tags[tag] = ontology
        return ontology

    def ensure_groups(self, project: Project, groups: list[str]) -> None:
        """Add new group names to the project."""
        for group in groups:
            if group not in project.groups:
                project.groups.append(group)

    def list_projects(self, secret_key: str | None) -> list[Project]:
        """Projects of the key's workspace."""
        workspace = self.workspace_for_key(secret_key)
        return [p for p in self.store.projects.values() if p.workspace_id == workspace.id]

    def update_project(self, project: Project, body: dict[str, Any]) -> Project:
        """Rename a project."""
        project.name = require_str(body, "name").strip()
        return project

    # -- workflows -------------------------------------------------------------------

    def create_workflow(self, project: Project, title: str) -> Workflow:
        """Add a workflow (the API has no create endpoint; used by seeding)."""
        now = self.now()
        workflow = Workflow(ids.workflow_id(), project.id, title, now, now)
        project.workflows[workflow.id] = workflow
        return workflow

    def get_workflow(self, project: Project, flow_id: str) -> Workflow:
        """One workflow, else 404."""
        workflow = project.workflows.get(flow_id)
        if workflow is None:
            raise not_found("Workflow")
        return workflow

    def update_workflow(self, project: Project, flow_id: str, body: dict[str, Any]) -> Workflow:
        """Change a workflow's title."""
        workflow = self.get_workflow(project, flow_id)
        workflow.title = require_str(body, "title")
        workflow.update_date = max(self.now(), workflow.update_date + 1)
        return workflow

    def delete_workflow(self, project: Project, flow_id: str) -> str:
        """Delete a workflow."""
        self.get_workflow(project, flow_id)
        del project.workflows[flow_id]
        return flow_id
