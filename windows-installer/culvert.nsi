; culvert.nsi: the Windows installer.  Installs the tree that build-msys2.sh
; staged into Program Files\Culvert, with a Start-menu shortcut and an
; uninstaller.  build-msys2.sh runs it as:
;   makensis -DVERSION=0.1.0 -DSTAGE_DIR=...\stage -DOUTFILE=...\culvert-0.1.0-setup.exe culvert.nsi
; A helpdesk that hands out its own installer adds -DSHARE_GATEWAY=path\to\file.culvert
; (a provisioning file with a "share_gateway" member): it is installed as
; etc\culvert\share-gateway.culvert, where "Share this computer" looks for its gateway
; when the preferences name none, so that the people it helps type nothing.

Unicode true

!ifndef VERSION
  !error "Pass the version: makensis -DVERSION=x.y.z"
!endif
!ifndef STAGE_DIR
  !error "Pass the staged tree: makensis -DSTAGE_DIR=path"
!endif
!ifndef OUTFILE
  !define OUTFILE "culvert-${VERSION}-setup.exe"
!endif

!define APP_NAME "Culvert"
!define APP_EXE "bin\culvert.exe"
!define REG_KEY "Software\Culvert"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Culvert"

!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "x64.nsh"

Name "${APP_NAME}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\${APP_NAME}"
InstallDirRegKey HKLM "${REG_KEY}" "InstallDir"
RequestExecutionLevel admin
SetCompressor /SOLID lzma

VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${APP_NAME}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "${APP_NAME} installer"
VIAddVersionKey "CompanyName" "Culvert developers"
VIAddVersionKey "LegalCopyright" "© 2026 Culvert developers, GPL-3.0-or-later"

!define MUI_ABORTWARNING
!define MUI_FINISHPAGE_RUN "$INSTDIR\${APP_EXE}"

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH

!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES

!insertmacro MUI_LANGUAGE "English"

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_OK|MB_ICONSTOP "${APP_NAME} needs 64-bit Windows."
    Abort
  ${EndIf}
  SetRegView 64
  SetShellVarContext all
FunctionEnd

Function un.onInit
  SetRegView 64
  SetShellVarContext all
FunctionEnd

Section "${APP_NAME}" SecMain
  SectionIn RO

  ; A previous version's files go first, so none of its DLLs linger.
  RMDir /r "$INSTDIR\bin"
  RMDir /r "$INSTDIR\lib"
  RMDir /r "$INSTDIR\share"

  SetOutPath "$INSTDIR"
  File /r "${STAGE_DIR}\*.*"

!ifdef SHARE_GATEWAY
  SetOutPath "$INSTDIR\etc\culvert"
  File "/oname=share-gateway.culvert" "${SHARE_GATEWAY}"
!endif

  ; The shortcut starts in bin\, next to the DLLs.
  SetOutPath "$INSTDIR\bin"
  CreateShortcut "$SMPROGRAMS\${APP_NAME}.lnk" "$INSTDIR\${APP_EXE}"

  WriteUninstaller "$INSTDIR\uninstall.exe"
  WriteRegStr HKLM "${REG_KEY}" "InstallDir" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayName" "${APP_NAME}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "Publisher" "Culvert developers"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\${APP_EXE}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoRepair" 1
SectionEnd

Section "Uninstall"
  Delete "$SMPROGRAMS\${APP_NAME}.lnk"

  ; Only what the installer put there: never a recursive delete of $INSTDIR,
  ; which the user may have pointed at a folder holding other things.
  RMDir /r "$INSTDIR\bin"
  RMDir /r "$INSTDIR\lib"
  RMDir /r "$INSTDIR\share"
  Delete "$INSTDIR\etc\culvert\share-gateway.culvert"
  RMDir "$INSTDIR\etc\culvert"
  RMDir "$INSTDIR\etc"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"

  DeleteRegKey HKLM "${UNINSTALL_KEY}"
  DeleteRegKey HKLM "${REG_KEY}"
SectionEnd
